"""Square: the Orders API's order shape (Point of Sale and Square Online)."""
