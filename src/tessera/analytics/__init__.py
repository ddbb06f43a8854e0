"""Measure: metrics and models over what the other packages recorded."""
