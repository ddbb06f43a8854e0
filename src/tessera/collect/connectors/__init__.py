"""Order connectors: each maps one platform's payload to ``CanonicalOrder``, nothing more.

``shopify``, ``amazon``, ``tiktok``, ``square`` and ``retail`` are pure functions of the payload
(and of the workspace's channel references, passed in). ``service`` parses, maps, applies
through ``OrderService`` and quarantines what it refuses; ``api`` holds the webhook and upload
routes; ``records`` reads files and request bodies record by record.
"""
