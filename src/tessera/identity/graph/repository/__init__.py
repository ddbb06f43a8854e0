"""The identity graph's SQL: ``IdentityRepository`` (``graph``) with its bulk writes, binary
COPY and writer thread (``bulk``)."""

from tessera.identity.graph.repository.bulk import AsideWrites, BulkWrites
from tessera.identity.graph.repository.graph import ANALYZE_MIN_ROWS, IdentityRepository

__all__ = ["ANALYZE_MIN_ROWS", "AsideWrites", "BulkWrites", "IdentityRepository"]
