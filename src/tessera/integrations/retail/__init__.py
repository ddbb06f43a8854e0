"""Retail partners (Target, Sephora, Ulta...): the weekly sell-through file they share."""
