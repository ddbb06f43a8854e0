"""The customer package's SQL: the 360's read side (``profiles``, and ``purchases`` for the
orders a shop reported through tracking calls) and consent, export and erasure (``privacy``)."""

from tessera.customer.repository.privacy import PrivacyRepository
from tessera.customer.repository.profiles import EventSummary, ProfileReadRepository
from tessera.customer.repository.purchases import PurchaseReadRepository

__all__ = ["EventSummary", "PrivacyRepository", "ProfileReadRepository", "PurchaseReadRepository"]
