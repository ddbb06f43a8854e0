"""Discovery: search with filters and relevance, lookalikes, the brand-fit score and the
brand-safety screen, over the workspace's index (``creator.index``).

The index is built from the database and kept per workspace in the process
(``creator.search_indexes``) with the stamp it was built at (the count of creators and their
latest change); a search reads the stamp (one indexed aggregate) when the last reading is over
two seconds old and rebuilds when it moved, so a creator added by another process is found
within two seconds, and one added by this process at once (``forget``). Never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from time import monotonic

from sqlalchemy.orm import Session

from tessera.creator import domain
from tessera.creator.errors import CreatorNotFound
from tessera.creator.index import Doc, Filters, Hit, Index, text_of
from tessera.creator.repository import CreatorRepository, Stamp
from tessera.creator.schemas import FiltersIn, LookalikesIn, SearchIn
from tessera.creator.service import CreatorService, CreatorView
from tessera.kit.process import PROCESS
from tessera.kit.time import Clock, utcnow

_indexes = PROCESS.ttl_cache("creator.search_indexes", maxsize=8, ttl=3600)
# How long a kept index is trusted without reading the stamp again: another process's change
# is searchable within this many seconds (this process's own changes call ``forget``).
STAMP_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Result:
    view: CreatorView
    hit: Hit
    fit: domain.Fit
    flags: list[domain.SafetyFlag]


@dataclass(frozen=True, slots=True)
class Results:
    total: int  # creators passing the filters
    items: list[Result]


def filters_of(body: FiltersIn) -> Filters:
    return Filters(
        platform=body.platform,
        min_followers=body.min_followers,
        max_followers=body.max_followers,
        min_engagement=body.min_engagement,
        country=body.country,
        min_country_share=body.min_country_share,
        niches=frozenset(n.lower() for n in body.niches),
        statuses=frozenset(str(s) for s in body.statuses),
    )


class Discovery:
    def __init__(self, session: Session, clock: Clock = utcnow) -> None:
        self.session = session
        self.clock = clock
        self.repository = CreatorRepository(session)
        self.creators = CreatorService(session, clock)

    def index(self, workspace_id: str) -> Index:
        """The workspace's index, rebuilt when its creators changed since it was built."""
        kept: tuple[Stamp, Index, float] | None = _indexes.get(workspace_id)
        if kept is not None and monotonic() - kept[2] < STAMP_SECONDS:
            return kept[1]
        stamp = self.repository.stamp(workspace_id)
        if kept is not None and kept[0] == stamp:
            _indexes[workspace_id] = (stamp, kept[1], monotonic())
            return kept[1]
        index = Index.build(self._docs(workspace_id))
        _indexes[workspace_id] = (stamp, index, monotonic())
        return index

    @staticmethod
    def forget(workspace_id: str) -> None:
        """Drop the kept index (a change at the same instant as the last keeps the stamp)."""
        _indexes.pop(workspace_id, None)

    def _docs(self, workspace_id: str) -> list[Doc]:
        accounts: dict[str, dict[str, tuple[int, float | None]]] = {}
        for row in self.repository.index_accounts(workspace_id):
            accounts.setdefault(row.creator_id, {})[row.platform] = (
                int(row.followers),
                None if row.engagement_rate is None else float(row.engagement_rate),
            )
        return [
            Doc(r.id, text_of(r.name, r.bio, r.captions, r.niches), r.embedding, r.status,
                r.niches, r.countries, accounts.get(r.id, {}))
            for r in self.repository.index_rows(workspace_id)
        ]  # fmt: skip

    def search(self, workspace_id: str, body: SearchIn) -> Results:
        """Creators passing the filters, best first: by BM25 and embedding ranks fused when
        there is a query, else by followers; each with its brand-fit score (its parts and
        weights) and the brand-safety terms found in its bio and captions."""
        index = self.index(workspace_id)
        filters = filters_of(body)
        hits, total = index.search(body.query, filters, body.limit)
        return Results(
            total,
            self._results(
                workspace_id, index, hits, body, body.avoid_terms, ranked=bool(body.query.strip())
            ),
        )

    def lookalikes(self, workspace_id: str, body: LookalikesIn) -> Results:
        """Creators like the chosen ones (their vectors' centroid, followers and engagement),
        through the same filters; 404 naming the first seed not in this workspace."""
        index = self.index(workspace_id)
        where = {creator_id: i for i, creator_id in enumerate(index.ids)}
        seeds = []
        for n, creator_id in enumerate(body.creator_ids):
            if creator_id not in where:
                raise CreatorNotFound(f"no creator {creator_id}", field=f"creator_ids.{n}")
            seeds.append(where[creator_id])
        filters = filters_of(body)
        hits = index.lookalikes(seeds, filters, body.limit)
        seed_niches = {n.lower() for s in seeds for n in index.docs[s].niches}
        brand_body = body.model_copy(update={"niches": sorted(seed_niches)[:10]})
        return Results(
            len(hits),
            self._results(workspace_id, index, hits, brand_body, body.avoid_terms, ranked=True),
        )

    def _results(
        self,
        workspace_id: str,
        index: Index,
        hits: Sequence[Hit],
        body: FiltersIn,
        avoid: Sequence[str],
        *,
        ranked: bool,
    ) -> list[Result]:
        brand = domain.Brand(
            niches=frozenset(n.lower() for n in body.niches),
            country=body.country,
            min_followers=body.min_followers,
            max_followers=body.max_followers,
        )
        found = self.creators.views(workspace_id, [index.ids[h.position] for h in hits])
        views = {v.creator.id: v for v in found}
        results = []
        for hit in hits:
            view = views.get(index.ids[hit.position])
            if view is None:  # deleted since the index was built
                continue
            row = view.creator
            flags = domain.screen(f"{row.name}\n{row.bio}\n{row.captions}", avoid)
            fit = domain.brand_fit(
                brand,
                relevance=hit.relevance if ranked else 1.0,
                niches=row.niches,
                countries=row.audience_countries,
                engagement_rate=index.best_engagement_of(hit.position),
                followers=index.best_followers_of(hit.position),
                flags=flags,
            )
            results.append(Result(view, hit, fit, flags))
        return results

    def screen(
        self, workspace_id: str, creator_id: str, avoid: Sequence[str] = ()
    ) -> list[domain.SafetyFlag]:
        """The brand-safety terms in one creator's name, bio and captions."""
        row = self.creators.get(workspace_id, creator_id).creator
        return domain.screen(f"{row.name}\n{row.bio}\n{row.captions}", avoid)
