"""The data layer: engine, ``session_scope()``, portable column types and the declarative base."""

from tessera.db.base import Base, RepositoryBase
from tessera.db.engine import make_engine, make_session_factory, session_scope

__all__ = ["Base", "RepositoryBase", "make_engine", "make_session_factory", "session_scope"]
