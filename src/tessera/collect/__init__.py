"""Collect: every channel's events and orders in one canonical form, losing nothing."""
