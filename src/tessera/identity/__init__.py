"""Identify: one profile per person across channels.

``graph``: the identity graph (identifiers, the stitch planner and its memory, stitching,
merge and unmerge, Collect's hand-off, its repository); ``match``: probabilistic matching in
production with its Fellegi-Sunter ``engine``; ``errors``: the Problems both raise. Identity
sits below the modules that read across capabilities (``customer``) and imports none of them.
"""
