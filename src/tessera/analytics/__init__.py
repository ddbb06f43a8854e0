"""Measure: how the brand is doing over a period, from every channel's orders and profiles.

Analytics reads other domains' tables directly (the one exception to "through their service",
ARCHITECTURE.md): it only counts, never changes, and its questions span orders and profiles.
"""
