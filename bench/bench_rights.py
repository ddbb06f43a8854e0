"""Rights checks per second (issue 18): ``rights.domain.can_use`` over an asset's licenses and
authorisations, and ``RightsService.check`` on PostgreSQL (the asset's lineage, its licenses
and authorisations read, then decided), next to their baselines in the same run: a plain
Python test of one license's dates (the least any check does) and one indexed SELECT of the
asset's licenses (the least any database-backed check does).

Each asset holds ``--licenses`` licenses (mixed usages, platforms, territories and terms) and
a Spark code; each check asks a random (channel, usage, territory, instant) of one.

``python -m bench.bench_rights [--assets 2000] [--licenses 4] [--checks 20000]
[--db-checks 2000] [--no-database]``; ``python -m bench`` calls ``main()``.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import mkdtemp

from PIL import Image
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench._database import bench_database_url
from tessera.content.service import ContentService, UploadForm
from tessera.content.storage import ContentFiles, LocalStore, Staging
from tessera.db import make_engine, make_session_factory, session_scope
from tessera.rights import domain
from tessera.rights.domain import Authorisation, License, Usage, Use
from tessera.rights.service import LicenseDraft, RightsService
from tessera.workspace.service import WorkspaceService

console = Console(width=140)
NOW = datetime(2027, 2, 1, 12, tzinfo=UTC)
USES = [("tiktok", Usage.PAID_SOCIAL), ("tiktok", Usage.PARTNERSHIP), ("instagram", Usage.ORGANIC),
        ("email", Usage.EMAIL), ("website", Usage.WEBSITE), ("amazon", Usage.AMAZON)]  # fmt: skip
TERRITORIES = ["US", "CA", "GB", "FR", "DE", "JP"]


def draw_licenses(rng: random.Random, asset: str, count: int) -> list[License]:
    licenses = []
    for n in range(count):
        start = NOW - timedelta(days=rng.randint(0, 400))
        licenses.append(
            License(
                id=f"lic_{asset}_{n}", asset_id=asset,
                usages=frozenset(rng.sample(list(Usage), rng.randint(1, 4))),
                starts_at=start, ends_at=start + timedelta(days=rng.choice([30, 90, 365, 730])),
                platforms=frozenset(rng.sample(["tiktok", "instagram"], rng.randint(0, 2))),
                territories=frozenset(rng.sample(TERRITORIES, rng.randint(0, 3))),
            )
        )  # fmt: skip
    return licenses


def draw_use(rng: random.Random) -> Use:
    channel, usage = rng.choice(USES)
    at = NOW + timedelta(hours=rng.randint(-2000, 2000))
    return Use(channel, usage, rng.choice(TERRITORIES), at, at + timedelta(days=7))


def in_memory(assets: int, licenses: int, checks: int, seed: int) -> Table:
    rng = random.Random(seed)
    held = {f"a{n}": draw_licenses(rng, f"a{n}", licenses) for n in range(assets)}
    spark = {a: [Authorisation(f"aut_{a}", a, "tiktok", NOW - timedelta(days=10),
                               NOW + timedelta(days=50))] for a in held}  # fmt: skip
    asked = [(rng.choice(list(held)), draw_use(rng)) for _ in range(checks)]
    started = time.perf_counter()
    allowed = sum(can(held[a], spark[a], use) for a, use in asked)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    floor = sum(
        1
        for a, use in asked
        if (first := held[a][0]).starts_at <= use.at < (first.ends_at or use.at)
    )
    baseline = time.perf_counter() - started
    table = Table(title=f"can_use: {checks:,} checks over {assets:,} assets x {licenses} licenses")
    for name in ("check", "checks/s", "allowed"):
        table.add_column(name, justify="right" if name != "check" else "left")
    table.add_row("tessera can_use (every term, reason)", f"{checks / ours:,.0f}", f"{allowed:,}")
    table.add_row("baseline: one license's dates", f"{checks / baseline:,.0f}", f"{floor:,}")
    table.caption = f"ratio (baseline / tessera): {ours / baseline:.1f}x"
    return table


def can(licenses: list[License], grants: list[Authorisation], use: Use) -> bool:
    return domain.can_use(licenses, grants, use).allowed


def on_database(url: str, assets: int, licenses: int, checks: int, seed: int) -> Table:
    """RightsService.check against PostgreSQL, next to one SELECT of an asset's licenses."""
    rng = random.Random(seed)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        ws = WorkspaceService(session).create_workspace(
            "Rights Bench", f"rights-{seed}-{rng.random():.6f}"
        )
        ids = [an_asset(session, ws.id, n) for n in range(assets)]
        service = RightsService(session, lambda: NOW)
        for asset in ids:
            for lic in draw_licenses(rng, asset, licenses):
                last = (lic.ends_at - timedelta(days=1)).date() if lic.ends_at else None
                draft = LicenseDraft(asset, sorted(lic.usages), lic.starts_at.date(), last,
                                     platforms=sorted(lic.platforms),
                                     territories=sorted(lic.territories))  # fmt: skip
                service.grant(ws.id, draft)
            service.authorise(ws.id, asset, "tiktok", NOW - timedelta(days=10), 60)
    asked = [(rng.choice(ids), draw_use(rng)) for _ in range(checks)]
    with session_scope(factory) as session:
        service = RightsService(session, lambda: NOW)
        started = time.perf_counter()
        for asset, use in asked:
            service.check(ws.id, asset, use)
        ours = time.perf_counter() - started
        started = time.perf_counter()
        for asset, _use in asked:
            session.execute(
                text(
                    "SELECT id, ends_at FROM asset_license"
                    " WHERE workspace_id = :ws AND asset_id = :a"
                ),
                {"ws": ws.id, "a": asset},
            ).all()
        baseline = time.perf_counter() - started
    engine.dispose()
    table = Table(title=f"RightsService.check on PostgreSQL: {checks:,} checks, {assets:,} assets")
    table.add_column("check")
    table.add_column("checks/s", justify="right")
    table.add_row(
        "tessera check (lineage, licenses, authorisations, decision)", f"{checks / ours:,.0f}"
    )
    table.add_row("baseline: one SELECT of the asset's licenses", f"{checks / baseline:,.0f}")
    table.caption = f"ratio (baseline / tessera): {ours / baseline:.1f}x"
    return table


def an_asset(session: Session, workspace_id: str, n: int) -> str:
    """A small real picture in the content library (the check reads its lineage)."""
    root = Path(mkdtemp(prefix="bench-rights-"))
    files = ContentFiles(LocalStore(root / "o"), Staging(root / "s"), 1 << 22, 1 << 22)
    image = Image.new("RGB", (64, 64), (n % 256, (n * 7) % 256, (n * 13) % 256))
    out = io.BytesIO()
    image.save(out, "PNG")
    form = UploadForm(f"bench-{n}.png")
    return ContentService(session, files).upload_stream(workspace_id, [out.getvalue()], form,
                                                        "bench").asset.id  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_rights")
    parser.add_argument("--assets", type=int, default=2000)
    parser.add_argument("--licenses", type=int, default=4)
    parser.add_argument("--checks", type=int, default=20000)
    parser.add_argument("--db-assets", type=int, default=200)
    parser.add_argument("--db-checks", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-database", action="store_true")
    args = parser.parse_args(argv)
    console.print(in_memory(args.assets, args.licenses, args.checks, args.seed))
    if args.no_database:
        return
    url = bench_database_url(console)
    if url is not None:
        console.print(on_database(url, args.db_assets, args.licenses, args.db_checks, args.seed))


if __name__ == "__main__":
    main()
