"""Every SQL statement of the inventory domain, one module per concern: ``locations``
(locations, channel feeds, routing rules), ``stock`` (balances and the ledger, and
``apply_delta``, the one way a counter changes), ``reservations`` (reservations, their lines,
expired holds), ``fast_path`` (a reservation in one statement, in the caller's transaction or
alone on a companion engine), ``routing`` (orders' allocations and routing decisions);
``base`` holds what they share. Import each repository from its module.
"""
