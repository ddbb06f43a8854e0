"""Prices per SKU per channel with their history, the EU Omnibus prior price, and parity."""
