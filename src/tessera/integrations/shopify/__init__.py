"""Shopify: webhook payloads (REST Admin API shapes) and webhook signatures."""
