"""The dashboard: server-rendered Jinja2 pages with HTMX, drawn from the same services as the API.

Every script and style is served from this package (``static/``, vendored libraries in
``static/vendor/``): no CDN, so it works behind a firewall and in offline tests.
"""
