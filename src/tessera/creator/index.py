"""Discovery's in-memory index of one workspace's creators: BM25 (``bm25s``) over the name,
bio, captions and niches; the stored WordLlama vectors; and the numbers filters read (followers
and engagement per platform, audience shares, niches, status), as NumPy arrays.

A query scores every creator with BM25 and with cosine similarity in two vectorised passes,
masks those the filters exclude, and fuses the two rankings' top lists by reciprocal rank
(neither score's scale means anything to the other). Lookalikes take the seeds' centroid and
their numbers. Pure: rows in, positions out; the service builds and caches it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import bm25s
import numpy as np
import numpy.typing as npt

from tessera.creator import domain
from tessera.creator.embedding import DIMENSIONS, embed, from_bytes

CANDIDATES = 300  # from each ranking, before fusion
# A creator found by meaning alone needs at least this cosine similarity to the query: below
# it WordLlama's neighbours are noise (on the test roster, "knitting" is 0.16 from a pastry
# chef, "sunscreen" 0.22 from a skincare reviewer who writes "SPF").
SEMANTIC_FLOOR = 0.2
Mask = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Doc:
    """What the index needs of one creator."""

    id: str
    text: str
    embedding: bytes | None
    status: str
    niches: Sequence[str]
    countries: Mapping[str, float]
    # platform -> (followers, engagement rate or None)
    accounts: Mapping[str, tuple[int, float | None]]


@dataclass(frozen=True, slots=True)
class Filters:
    platform: str | None = None
    min_followers: int | None = None
    max_followers: int | None = None
    min_engagement: float | None = None
    country: str | None = None
    min_country_share: float | None = None
    niches: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Hit:
    position: int
    relevance: float  # 0..1, the fused score over the best result's
    bm25_rank: int | None
    semantic_rank: int | None


@dataclass
class Index:
    ids: list[str]
    docs: list[Doc]
    bm25: bm25s.BM25 | None
    vectors: Floats
    statuses: npt.NDArray[np.str_]
    followers: dict[str, npt.NDArray[np.int64]]  # per platform; -1 where no account
    engagement: dict[str, Floats]  # per platform; NaN where unknown
    niche_masks: dict[str, Mask]
    _countries: dict[str, Floats] = field(default_factory=dict)

    @classmethod
    def build(cls, docs: Sequence[Doc]) -> Index:
        n = len(docs)
        texts = [d.text for d in docs]
        bm25 = None
        if n:
            tokens = bm25s.tokenize(texts, stopwords="en", show_progress=False)
            bm25 = bm25s.BM25()
            bm25.index(tokens, show_progress=False)
        vectors = np.zeros((n, DIMENSIONS), dtype=np.float32)
        for i, doc in enumerate(docs):
            vectors[i] = from_bytes(doc.embedding)
        platforms = {p for d in docs for p in d.accounts}
        followers = {p: np.full(n, -1, dtype=np.int64) for p in platforms}
        engagement = {p: np.full(n, np.nan, dtype=np.float32) for p in platforms}
        niche_masks: dict[str, Mask] = {}
        for i, doc in enumerate(docs):
            for platform, (count, rate) in doc.accounts.items():
                followers[platform][i] = count
                engagement[platform][i] = np.nan if rate is None else rate
            for niche in doc.niches:
                niche_masks.setdefault(niche.lower(), np.zeros(n, dtype=np.bool_))[i] = True
        statuses = np.array([d.status for d in docs], dtype=np.str_)
        return cls([d.id for d in docs], list(docs), bm25, vectors, statuses, followers,
                   engagement, niche_masks)  # fmt: skip

    def __len__(self) -> int:
        return len(self.ids)

    # Filters ------------------------------------------------------------------------------

    def country_shares(self, country: str) -> Floats:
        shares = self._countries.get(country)
        if shares is None:
            shares = np.array([d.countries.get(country, 0.0) for d in self.docs], np.float32)
            self._countries[country] = shares
        return shares

    def mask(self, filters: Filters) -> Mask:
        n = len(self)
        mask = np.ones(n, dtype=np.bool_)
        if filters.statuses:
            mask &= np.isin(self.statuses, sorted(filters.statuses))
        if filters.platform is not None:
            counts = self.followers.get(filters.platform)
            rates = self.engagement.get(filters.platform)
            if counts is None or rates is None:
                return np.zeros(n, dtype=np.bool_)
            mask &= counts >= 0
        else:
            counts = self.best_followers
            rates = self.best_engagement
        if filters.min_followers is not None:
            mask &= counts >= filters.min_followers
        if filters.max_followers is not None:
            mask &= counts <= filters.max_followers
        if filters.min_engagement is not None:
            mask &= np.nan_to_num(rates, nan=-1.0) >= filters.min_engagement
        if filters.country is not None:
            least = filters.min_country_share if filters.min_country_share is not None else 0.0
            shares = self.country_shares(filters.country)
            mask &= (shares >= least) & (shares > 0)
        for niche in filters.niches:
            mask &= self.niche_masks.get(niche.lower(), np.zeros(n, dtype=np.bool_))
        return mask

    @cached_property
    def best_followers(self) -> npt.NDArray[np.int64]:
        """Each creator's largest following on any platform (-1 with no account)."""
        best = np.full(len(self), -1, dtype=np.int64)
        for counts in self.followers.values():
            best = np.maximum(best, counts)
        return best

    @cached_property
    def best_engagement(self) -> Floats:
        """Each creator's best engagement rate on any platform (NaN when none is known)."""
        best = np.full(len(self), np.nan, dtype=np.float32)
        for rates in self.engagement.values():
            best = np.fmax(best, rates)
        return best

    def best_engagement_of(self, position: int) -> float | None:
        rates = [r for _f, r in self.docs[position].accounts.values() if r is not None]
        return max(rates) if rates else None

    def best_followers_of(self, position: int) -> int:
        return max((f for f, _r in self.docs[position].accounts.values()), default=0)

    # Ranking ------------------------------------------------------------------------------

    def search(self, query: str, filters: Filters, limit: int) -> tuple[list[Hit], int]:
        """The creators passing ``filters``, by relevance to ``query`` (BM25 and embedding
        ranks fused), or by followers when there is no query; and how many matched."""
        mask = self.mask(filters)
        allowed = np.flatnonzero(mask)
        if not len(allowed):
            return [], 0
        if not query.strip() or self.bm25 is None:
            order = _top(self.best_followers.astype(np.float64) + 1, allowed, limit, floor=0.0)
            return [Hit(i, 0.0, None, None) for i in order], len(allowed)
        lexical = self._bm25_scores(query)
        semantic = self.vectors @ embed([query])[0]
        found = (lexical[allowed] > 0) | (semantic[allowed] >= SEMANTIC_FLOOR)
        bm25_top = _top(lexical, allowed, CANDIDATES, floor=0.0)
        semantic_top = _top(semantic, allowed, CANDIDATES, floor=SEMANTIC_FLOOR)
        fused = domain.reciprocal_rank_fusion([bm25_top, semantic_top])
        ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:limit]
        if not ranked:
            return [], 0
        best = ranked[0][1]
        bm25_rank = {p: r for r, p in enumerate(bm25_top, start=1)}
        semantic_rank = {p: r for r, p in enumerate(semantic_top, start=1)}
        hits = [Hit(p, score / best, bm25_rank.get(p), semantic_rank.get(p)) for p, score in ranked]
        return hits, int(np.count_nonzero(found))

    def _bm25_scores(self, query: str) -> Floats:
        assert self.bm25 is not None
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False, return_ids=False)
        words = [w for w in tokens[0] if w in self.bm25.vocab_dict]
        if not words:
            return np.zeros(len(self), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(words), dtype=np.float32)

    def lookalikes(self, seeds: Sequence[int], filters: Filters, limit: int) -> list[Hit]:
        """Creators like the seeds: 70 % cosine similarity to the centroid of their vectors,
        30 % closeness in followers (log scale) and engagement; the seeds left out."""
        mask = self.mask(filters)
        mask[list(seeds)] = False
        allowed = np.flatnonzero(mask)
        if not len(allowed) or not seeds:
            return []
        centroid = self.vectors[list(seeds)].mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        semantic = self.vectors @ (centroid / norm) if norm else np.zeros(len(self), np.float32)
        sizes = np.log10(np.maximum(self.best_followers, 1).astype(np.float64))
        seed_size = float(np.mean(sizes[list(seeds)]))
        rates = np.nan_to_num(self.best_engagement, nan=0.0)
        seed_rate = float(np.mean(rates[list(seeds)]))
        numeric = np.exp(-np.abs(sizes - seed_size)) * np.exp(-np.abs(rates - seed_rate) / 0.02)
        score = 0.7 * semantic + 0.3 * numeric
        order = _top(score - score.min() + 1.0, allowed, limit, floor=0.0)
        top = float(score[order[0]]) if len(order) else 1.0
        return [Hit(int(i), max(float(score[i]) / top, 0.0) if top > 0 else 0.0, None, None)
                for i in order]  # fmt: skip


def _top(
    scores: npt.NDArray[np.floating[Any]], allowed: npt.NDArray[np.intp], k: int, *, floor: float
) -> list[int]:
    """The positions of the ``k`` best scores among ``allowed`` (above ``floor``, or at it
    when it is above zero), best first."""
    values = scores[allowed]
    keep = values >= floor if floor > 0 else values > 0
    allowed, values = allowed[keep], values[keep]
    if len(values) > k:
        part = np.argpartition(-values, k)[:k]
        allowed, values = allowed[part], values[part]
    order = np.lexsort((allowed, -values))
    return [int(i) for i in allowed[order]]


def text_of(name: str, bio: str, captions: str, niches: Sequence[str]) -> str:
    """What relevance reads: the name, bio, captions and niches."""
    return "\n".join([name, bio, captions, " ".join(niches)])
