"""Journeys shipped with Tessera, ready to install: each a JSON file beside this module holding
a title, a description, the journey's definition and the templates it sends.

Installing one creates the journey as a draft (version 1) and every template it names that the
workspace does not have yet; a template of the same name is kept as the brand wrote it, so a
reinstall or a brand's own copy is never overwritten. Publishing is the brand's step, through
the usual checks: an entry event that is not a Segment e-commerce event (``Signed Up``,
``Back In Stock``, ``Product Registered``) must have arrived in the workspace first, as for
any journey, so a journey listening for an event nobody sends is refused by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy.orm import Session

from tessera.journey.definition import parse
from tessera.journey.errors import ShippedJourneyNotFound
from tessera.journey.service import JourneyService
from tessera.message.templates import TemplateDraft, TemplateService
from tessera.models.journey import Journey


@dataclass(frozen=True)
class ShippedJourney:
    """One journey of the library, as packaged."""

    name: str  # the file's stem: abandoned_cart
    title: str
    description: str
    definition: dict[str, Any]
    templates: tuple[TemplateDraft, ...]

    @property
    def entry_event(self) -> str | None:
        entry = self.definition["entry"]
        return str(entry["event"]) if entry["kind"] == "event" else None


@dataclass(frozen=True)
class Installed:
    journey: Journey
    created_templates: list[str]
    kept_templates: list[str]


@cache
def shipped() -> tuple[ShippedJourney, ...]:
    """Every shipped journey, by name; each definition is parsed, so a broken file fails
    the first caller (and the library's tests), never a brand's install."""
    found = []
    for item in sorted(resources.files(__name__).iterdir(), key=lambda i: i.name):
        if not item.name.endswith(".json"):
            continue
        document = json.loads(item.read_text(encoding="utf-8"))
        parse(document["definition"])
        found.append(
            ShippedJourney(
                name=item.name.removesuffix(".json"),
                title=document["title"],
                description=document["description"],
                definition=document["definition"],
                templates=tuple(TemplateDraft(**t) for t in document["templates"]),
            )
        )
    return tuple(found)


def find(name: str) -> ShippedJourney:
    """The shipped journey called ``name``; refuses an unknown one, listing the names."""
    for journey in shipped():
        if journey.name == name:
            return journey
    names = ", ".join(j.name for j in shipped())
    raise ShippedJourneyNotFound(f"no shipped journey {name!r}; there are: {names}")


def install(session: Session, workspace_id: str, name: str, *, actor: str) -> Installed:
    """Create the shipped journey ``name`` as a draft, with the templates it sends that the
    workspace lacks (in the caller's transaction). Installing twice makes two drafts: a
    brand may run two variants of one journey."""
    journey = find(name)
    templates = TemplateService(session)
    existing = templates.names(workspace_id)
    created, kept = [], []
    for draft in journey.templates:
        if draft.name in existing:
            kept.append(str(draft.name))
            continue
        templates.create(workspace_id, draft, actor=actor)
        created.append(str(draft.name))
    made = JourneyService(session).create(workspace_id, journey.definition, actor=actor)
    return Installed(made, created, kept)
