"""The identity graph: identifiers linked into profiles as records arrive (ADR 0010).

``identifiers`` (types, normalisation, extraction), ``planner`` (pure stitch planning and the
replay an unmerge uses), ``memory`` (what a process's last stitch left), ``stitch`` (a batch
linked and written), ``summary`` (traits folded newest first), ``service`` (stitch, merge,
unmerge, resolve, rules), ``intake`` (Collect's hand-off), ``tasks``, ``api``/``cli`` (the merge
log, manual merges, the rules) and ``repository`` (its SQL, the bulk writes on their own).
"""
