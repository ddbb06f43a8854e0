"""Alembic migrations. They live inside the package so an installed Tessera can upgrade itself."""
