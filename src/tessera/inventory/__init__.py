"""Stock: locations, the ledger and balances, reservations, orders moving stock, routing."""
