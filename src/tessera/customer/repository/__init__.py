"""The customer package's SQL: the 360's read side (``profiles``) and consent, export and
erasure (``privacy``)."""

from tessera.customer.repository.privacy import PrivacyRepository
from tessera.customer.repository.profiles import EventSummary, ProfileReadRepository

__all__ = ["EventSummary", "PrivacyRepository", "ProfileReadRepository"]
