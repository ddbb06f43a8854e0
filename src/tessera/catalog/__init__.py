"""The catalog: products, variants (SKUs), bundles and kits, channel listings, imports."""
