"""Use cases of stock, one service per concern. Never commits: the caller's scope does.

``locations`` (LocationService: locations, channel feeds, routing rules), ``stock``
(StockService: reading stock, and adjust, expect, receive, count, safety, damage, transfer,
import), ``reservations`` (ReservationService: a checkout's hold, the general path, and its
life until ordered, released or expired), ``fast_path`` (ReservationFastPath: a reservation
in one statement on PostgreSQL, falling back to the general path), ``routing``
(RoutingService: candidates, allocation and BOPIS, decisions), ``orders`` (OrderStockService:
orders moving stock as they change), ``verify`` (VerifyService: balances against the ledger);
``ledger`` (StockLedger) is the one way every one of them changes a counter. Import each
service from its module.
"""
