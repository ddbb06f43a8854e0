"""Rendering templates: Liquid (python-liquid) over HTML, MJML (mjml-python) or text.

Liquid is the language merchants already write in Shopify; it evaluates nothing of Python's,
and the environment here also takes away what could reach outside a template (``include`` and
``render`` load other templates) and bounds what one can cost (loop iterations, output size,
nesting), so a hostile template is refused, not run forever.

Two environments, one per moment:

- **At save** (``check``): undefined variables and unknown filters are errors, and the
  template is rendered against sample data for every variable a message can carry (``profile``,
  ``order``, ``cart``, ``product``, ``recommendations``, ``store``, ``event`` and the links), so a
  misspelt ``{{ profle.name }}`` or an unclosed ``{% if %}`` is refused naming the field and
  the line. ``profile.traits`` takes any name: traits are the brand's own.
- **At send** (``render``): what a person's data lacks renders empty, so a template that passed
  the save check never fails because a profile has no first name.

HTML bodies are escaped as they are filled in (a first name of ``<script>`` arrives as text).
MJML is compiled after Liquid has run; the text part of an email is derived from its HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from liquid import Environment, StrictUndefined, Undefined
from liquid.exceptions import LiquidError
from mjml import mjml2html

from tessera.models.message import MessageChannel, TemplateFormat

MAX_BODY = 200_000  # characters of template source
MAX_SUBJECT = 300
MAX_OUTPUT = 1_000_000  # characters one render may produce
SUBJECT = "subject"
BODY = "body"
# What a caller may give a template besides the profile (which the send job reads itself).
CONTEXT_KEYS = ("order", "cart", "product", "store", "event")
# What the send job computes for the person when a template names it.
RECOMMENDATIONS = "recommendations"


def uses(name: str, *sources: str) -> bool:
    """Whether a template's sources name the variable ``name`` (a cheap, generous test: a
    mention in text also counts, which only costs the computing of a value not shown)."""
    return any(re.search(rf"\b{re.escape(name)}\b", source) for source in sources)


class _Bounded(Environment):
    loop_iteration_limit = 10_000
    output_stream_limit = MAX_OUTPUT
    local_namespace_limit = 100_000
    context_depth_limit = 20


def _environment(*, strict: bool, autoescape: bool) -> Environment:
    env = _Bounded(undefined=StrictUndefined if strict else Undefined, autoescape=autoescape)
    for tag in ("include", "render"):  # they load other templates: none exist, none may
        env.tags.pop(tag, None)
    return env


_ENVIRONMENTS = {
    (strict, escape): _environment(strict=strict, autoescape=escape)
    for strict in (True, False)
    for escape in (True, False)
}


@dataclass(frozen=True, slots=True)
class RenderFault:
    """Why a template does not render: the field (``subject`` or ``body``), the line in it
    (None when the fault is not at one place), and Liquid's or MJML's message."""

    field: str
    line: int | None
    message: str

    def describe(self) -> str:
        where = f"{self.field} line {self.line}" if self.line else self.field
        return f"{where}: {self.message}"


class RenderError(Exception):
    def __init__(self, fault: RenderFault) -> None:
        super().__init__(fault.describe())
        self.fault = fault


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str  # empty for SMS
    body: str  # the HTML to send (email) or the text (SMS)
    text: str  # an email's text part; the SMS text again


class AnyTrait(Mapping[str, Any]):
    """``profile.traits`` at save time: every name is defined (traits are the brand's own)."""

    def __getitem__(self, key: str) -> Any:
        return "sample"

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class AnyProperty(AnyTrait):
    """``event`` at save time: Segment's usual properties with sample values, and every other
    name defined too (an event's properties are the brand's own)."""

    def __init__(self, known: Mapping[str, Any]) -> None:
        self.known = dict(known)

    def __getitem__(self, key: str) -> Any:
        return self.known.get(key, "sample")


def profile_view(traits: dict[str, Any], profile_id: str) -> dict[str, Any]:
    """What a template reads as ``profile``: the usual fields, and every trait under ``traits``."""
    first, last = traits.get("first_name"), traits.get("last_name")
    name = traits.get("name") or " ".join(str(part) for part in (first, last) if part)
    found = traits.get("address")
    address: dict[str, Any] = found if isinstance(found, dict) else {}
    return {
        "id": profile_id,
        "email": traits.get("email"),
        "phone": traits.get("phone"),
        "first_name": first,
        "last_name": last,
        "name": name or None,
        "city": traits.get("city") or address.get("city"),
        "country": traits.get("country") or address.get("country"),
        "timezone": traits.get("timezone"),
        "traits": traits,
    }


def sample_context() -> dict[str, Any]:
    """Sample values of every variable a message can carry: what the save check renders with,
    and what a preview shows for what the chosen profile's message would not have."""
    line = {
        "name": "Linen shirt",
        "sku": "SHIRT-M-BLUE",
        "quantity": 1,
        "price": "49.00",
        "url": "https://shop.example/products/linen-shirt",
        "image_url": "https://shop.example/images/linen-shirt.jpg",
    }
    return {
        "profile": {
            "id": "cus_sample",
            "email": "ana@example.com",
            "phone": "+14155550100",
            "first_name": "Ana",
            "last_name": "Silva",
            "name": "Ana Silva",
            "city": "San Francisco",
            "country": "US",
            "timezone": "America/Los_Angeles",
            "traits": AnyTrait(),
        },
        "order": {
            "id": "ord_sample",
            "number": "#1001",
            "total": "98.00",
            "currency": "USD",
            "channel": "web",
            "placed_at": "2025-03-01T10:00:00Z",
            "url": "https://shop.example/orders/1001",
            "items": [line, {**line, "name": "Canvas tote", "sku": "TOTE"}],
        },
        "cart": {
            "id": "cart_sample",
            "total": "49.00",
            "currency": "USD",
            "url": "https://shop.example/cart/recover/abc",
            "items": [line],
            "products": [line],
        },
        "event": AnyProperty(
            {
                "cart_id": "cart_sample",
                "order_id": "1001",
                "checkout_url": "https://shop.example/cart/recover/abc",
                "value": 49.0,
                "currency": "USD",
                "products": [{**line, "price": 49.0, "product_id": "prd_sample"}],
            }
        ),
        "product": line,
        RECOMMENDATIONS: [
            {**line, "name": "Canvas tote", "sku": "TOTE", "price": "24.00", "currency": "USD"},
            {**line, "name": "Linen trousers", "sku": "TROUSERS-M", "currency": "USD"},
        ],
        "store": {
            "name": "Mission Street",
            "address": "1 Mission Street, San Francisco",
            "phone": "+14155550111",
            "hours": "10:00-19:00",
            "url": "https://shop.example/stores/mission",
        },
        "links": {
            "unsubscribe": "https://tessera.example/u/sample",
            "preferences": "https://tessera.example/u/sample",
        },
        "brand": {"name": "Sample Brand", "help": "help@shop.example"},
    }


def _line_of(error: LiquidError, source: str) -> int | None:
    context = error.context()
    if context is not None:
        return context[0]
    # An unclosed block is found at the end of the source.
    return max(1, source.count("\n") + 1) if "found end of" in str(error.message) else None


def _liquid(source: str, data: Mapping[str, Any], field: str, *, strict: bool, escape: bool) -> str:
    env = _ENVIRONMENTS[(strict, escape)]
    try:
        return env.from_string(source).render(**data)
    except LiquidError as error:
        raise RenderError(RenderFault(field, _line_of(error, source), str(error.message))) from None
    except (RecursionError, MemoryError, ValueError, TypeError) as error:
        raise RenderError(RenderFault(field, None, str(error))) from None


def _mjml(source: str) -> str:
    try:
        return str(mjml2html(source))
    except Exception as error:  # the compiler raises ValueError, or its own errors
        message = str(error)
        line = None
        found = re.search(r"at position (\d+):", message)
        if found:
            line = source.count("\n", 0, int(found.group(1))) + 1
        raise RenderError(RenderFault(BODY, line, f"MJML: {message}")) from None


def render(
    channel: MessageChannel,
    format: TemplateFormat,
    subject: str,
    body: str,
    data: Mapping[str, Any],
    *,
    strict: bool = False,
) -> Rendered:
    """Render a template's subject and body with ``data``; refuses (``RenderError``)
    what Liquid or MJML cannot turn into a message."""
    if channel is MessageChannel.SMS:
        text = _liquid(body, data, BODY, strict=strict, escape=False).strip()
        return Rendered(subject="", body=text, text=text)
    rendered_subject = " ".join(
        _liquid(subject, data, SUBJECT, strict=strict, escape=False).split()
    )
    source = _liquid(body, data, BODY, strict=strict, escape=format is not TemplateFormat.TEXT)
    if format is TemplateFormat.MJML:
        markup = _mjml(source)
    elif format is TemplateFormat.TEXT:
        markup = f"<pre>{html.escape(source)}</pre>"
    else:
        markup = source
    text = source if format is TemplateFormat.TEXT else html_to_text(markup)
    return Rendered(subject=rendered_subject, body=markup, text=text)


def check(channel: MessageChannel, format: TemplateFormat, subject: str, body: str) -> Rendered:
    """Render with sample data in the strict environment: the save-time check."""
    if channel is MessageChannel.EMAIL and not subject.strip():
        raise RenderError(RenderFault(SUBJECT, None, "an email needs a subject"))
    if not body.strip():
        raise RenderError(RenderFault(BODY, None, "the body is empty"))
    rendered = render(channel, format, subject, body, sample_context(), strict=True)
    if channel is MessageChannel.EMAIL and not rendered.subject:
        raise RenderError(RenderFault(SUBJECT, None, "the subject renders empty"))
    return rendered


# The text part and tracked links ---------------------------------------------------------------


class _Text(HTMLParser):
    """HTML to readable text: blocks become lines, links keep their address."""

    BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr"})
    HIDDEN = frozenset({"style", "script", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "a":
            self.href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self.href:
            if self.href.startswith(("http://", "https://")):
                self.parts.append(f" ({self.href})")
            self.href = None

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_HREF = re.compile(r"""(href\s*=\s*)(["'])(https?://[^"'\s<>]+)\2""", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"']+")


def track_html_links(
    markup: str, tracked: Callable[[int], str], keep: Collection[str] = ()
) -> tuple[str, list[str]]:
    """Each distinct ``href`` to http(s) replaced by ``tracked(index)``, except those in
    ``keep`` (the unsubscribe link must work without a redirect); the originals in order of
    index."""
    links: list[str] = []

    def swap(match: re.Match[str]) -> str:
        url = html.unescape(match.group(3))
        if url in keep:
            return match.group(0)
        if url not in links:
            links.append(url)
        return f"{match.group(1)}{match.group(2)}{tracked(links.index(url))}{match.group(2)}"

    return _HREF.sub(swap, markup), links


def track_text_links(
    text: str, tracked: Callable[[int], str], keep: Collection[str] = ()
) -> tuple[str, list[str]]:
    """``track_html_links`` for a text (an SMS): each URL replaced by its tracked link."""
    links: list[str] = []

    def swap(match: re.Match[str]) -> str:
        url = match.group(0).rstrip(".,;:!?)")
        tail = match.group(0)[len(url) :]
        if url in keep:
            return match.group(0)
        if url not in links:
            links.append(url)
        return tracked(links.index(url)) + tail

    return _URL.sub(swap, text), links
