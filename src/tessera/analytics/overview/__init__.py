"""The overview's KPIs: how the brand is doing over a period, from every channel's orders and
profiles, next to the period before. It only counts, never changes (the analytics package is
the documented exception that reads other domains' tables)."""
