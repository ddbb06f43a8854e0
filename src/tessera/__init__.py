"""Tessera: one customer, one inventory and one message stream across every sales channel."""

__version__ = "0.1.0"
