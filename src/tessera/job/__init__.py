"""Durable jobs and timers: rows in the application database, claimed by ``tessera worker``.

How to use it from another domain:

- Enqueue in your transaction: ``JobService(session).enqueue("inventory.feed_pushed",
  {"listing_id": ...}, workspace_id=...)``. The job exists if and only if your change commits.
- Handle it in your ``tasks.py``: ``@job_handler("inventory.feed_pushed")`` on a function taking
  ``(session, payload)``, and add the module to ``TASK_MODULES`` in ``tessera/worker.py``.
- Run something on a cadence: ``@periodic("catalog.prices_synced", every=timedelta(minutes=5))``.

Delivery is at least once. A handler's database writes commit in the same transaction as its
job's completion, so for writes that stay in the database a job's effect is applied once; an
effect outside the database (an HTTP call, an email) can happen twice, when a worker dies after
it and before the commit. Handlers must therefore be safe to run twice.
"""
