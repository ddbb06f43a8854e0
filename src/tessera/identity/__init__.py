"""Identify: one profile per person across channels."""
