"""Loyalty: points earned on every channel, tiers, rewards as discount codes, retail-to-owned
product registration."""
