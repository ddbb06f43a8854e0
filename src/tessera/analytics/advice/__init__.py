"""Which channel to add next, in plain words with the figures behind each sentence, and the
weekly channel table marketing-mix tools (Robyn, Meridian, PyMC-Marketing) read."""
