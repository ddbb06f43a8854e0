"""The demo brand: a deterministic, seeded generator and the ``tessera demo`` runner.

Each capability extends the generator with its own part of the brand, sent through the real
services and API paths, so ``make demo`` always shows everything working on realistic data.
"""
