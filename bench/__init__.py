"""Benchmarks, each printed next to the peer or ceiling it is measured against."""
