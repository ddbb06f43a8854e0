"""Canonical orders from every channel, applied idempotently and independent of arrival order."""
