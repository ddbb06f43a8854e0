"""Connectors: orders (and imported events) from Shopify, Amazon, TikTok Shop, Square and
retail partners, mapped to ``CanonicalOrder`` and applied through ``tessera.order``.

It sits above orders and Collect. ``shopify``, ``amazon``, ``tiktok``, ``square`` and
``retail`` are pure mappings of one platform's payload (and of the workspace's channel
references, passed in); ``formats`` says how each platform's files look; ``records`` reads
files and request bodies record by record. ``service`` parses, maps, applies and quarantines
what it refuses; ``webhooks`` registers Shopify shops and receives their webhooks;
``secrets`` opens and reseals sources' secrets; ``importer`` streams large files in
resumable chunks; ``replay`` teaches Collect's quarantine to replay connector records;
``api`` and ``cli`` are the edges.
"""
