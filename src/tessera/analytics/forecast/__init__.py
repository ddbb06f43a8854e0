"""Demand forecasting per SKU x location: Croston-type methods for intermittent demand, a
rolling-origin backtest against seasonal naive (MASE) and reorder points from lead time and
service level. Our own NumPy/SciPy (ADR 0023), over what the analytics layer reads."""
