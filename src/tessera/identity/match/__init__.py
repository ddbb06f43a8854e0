"""Probabilistic matching in production: match records, blocked candidates scored by the
workspace's model, automatic merges above one threshold and a review queue below it (ADR 0014).

``domain`` (pure rules and shapes), ``repository``, ``service``, ``api``, ``cli``, ``tasks``;
``engine``: the pure Fellegi-Sunter matcher (EM training, blocking, the incremental index).
"""
