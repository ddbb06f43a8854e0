"""Security headers on every response the app sends, and the client address behind a proxy.

``SecurityHeaders`` wraps the whole app, outside Starlette's own error middleware, so API
answers, static files, the docs, 404s and even a 500 carry the same headers: no MIME sniffing,
no framing, no referrer sent to other sites, a Content-Security-Policy on anything a browser
renders as a document (HTML and SVG), and in production Strict-Transport-Security. A response
that set one of these itself (the docs page allows its one inline script) keeps its own.

``trusting_proxies`` believes ``X-Forwarded-For`` only when the connection comes from an
address in ``settings.trusted_proxies``: otherwise any client could name itself a new address
with every request and never meet the per-address sign-in limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

# The dashboard's pages load only the app's own scripts and styles; Vega-Embed and its tooltip
# add <style> elements at run time, hence 'unsafe-inline' for styles (never for scripts).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=63072000; includeSubDomains"
_DOCUMENT_TYPES = ("text/html", "image/svg+xml", "application/xhtml+xml")
_ALWAYS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


class SecurityHeaders:
    """Adds the security headers to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp, *, strict_transport: bool) -> None:
        self.app = app
        self.always = dict(_ALWAYS)
        if strict_transport:
            self.always["strict-transport-security"] = HSTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.always.items():
                    headers.setdefault(name, value)
                media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
                if media in _DOCUMENT_TYPES:
                    headers.setdefault("content-security-policy", CONTENT_SECURITY_POLICY)
            await send(message)

        await self.app(scope, receive, with_headers)


def trusting_proxies(app: ASGIApp, proxies: Sequence[str]) -> ASGIApp:
    """``app`` reading the client address from ``X-Forwarded-For`` when, and only when, the
    connection comes from one of ``proxies`` (addresses or networks); ``app`` itself when none
    is configured, so the address is always the connection's own."""
    if not proxies:
        return app
    return ProxyHeadersMiddleware(app, trusted_hosts=list(proxies))  # type: ignore[arg-type,return-value]
