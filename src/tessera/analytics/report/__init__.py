"""Measure's reports: retention cohorts, omnichannel share and attribution, each from the
analytics layer's metrics, served by ``/v1/reports``, ``tessera report`` and the dashboard."""
