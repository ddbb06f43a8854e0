"""Engage's segments (rule-based, materialised membership) and audiences (named lists,
exported to ad platforms as hashed custom audiences)."""
