"""Amazon Seller Central: the flat-file order report."""
