"""The customer: what reads across capabilities about one person.

``profiles`` (search, the 360, the timeline, whose cursors and items are ``timeline``'s),
``privacy`` (consent, export, erasure), ``schemas``, ``api``, ``cli`` and ``repository``. It
builds on the identity graph and the orders' service; identity never imports it.
"""
