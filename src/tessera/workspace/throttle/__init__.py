"""Sign-in throttling: counters per account and per client address (ADR 0016)."""
