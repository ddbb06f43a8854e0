"""A seeded sample brand. The same seed and size always give the same brand.

The generator only describes the brand (pure data, no database); ``seed.py`` sends it through
the services. Capabilities add fields here as they land (channels, people, catalog, ...).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tessera.models.workspace import ApiKeyKind, Role

FIRST_NAMES = (
    "Ava", "Noah", "Mia", "Liam", "Zoe", "Ethan", "Isla", "Mateo", "Priya", "Kenji", "Amara",
    "Lucas", "Sofia", "Omar", "Hana", "Diego", "Chloe", "Ravi", "Lena", "Malik", "Nora", "Theo",
    "Yara", "Felix", "Ines", "Jonah", "Maya", "Arjun", "Elise", "Tomas",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Nakamura", "Alvarez", "Chen", "Haddad", "Kowalski", "Murphy",
    "Rossi", "Schmidt", "Patel", "Dubois", "Silva", "Novak", "Kim", "Moreau", "Jensen", "Costa",
    "Reyes", "Fischer",
)  # fmt: skip
BRAND_NAMES = ("Lumen & Loom", "Northbound Goods", "Saltwater Skin", "Fable Coffee", "Kiln Home")
TEAM_ROLES = (
    ("owner", Role.OWNER, "Founder"),
    ("ops", Role.ADMIN, "E-commerce operations lead"),
    ("crm", Role.MARKETER, "Growth and CRM marketer"),
    ("creators", Role.MARKETER, "Creator partnerships manager"),
    ("analyst", Role.ANALYST, "Analyst"),
    ("finance", Role.VIEWER, "Finance"),
)


@dataclass(frozen=True)
class TeamMember:
    email: str
    name: str
    role: Role
    title: str


@dataclass(frozen=True)
class KeySpec:
    name: str
    kind: ApiKeyKind
    role: Role | None
    feeds: str | None = None  # which demo data the key sends: "web", "app" events, "ops" orders


@dataclass(frozen=True)
class DemoSize:
    """How big the demo brand is; capabilities add their own counts."""

    extra_team_members: int = 4
    shoppers: int = 300

    @classmethod
    def named(cls, name: str) -> DemoSize:
        sizes = {
            "small": cls(extra_team_members=1, shoppers=40),
            "medium": cls(),
            "large": cls(extra_team_members=12, shoppers=3000),
        }
        if name not in sizes:
            raise ValueError(f"size must be one of {', '.join(sizes)}")
        return sizes[name]


@dataclass(frozen=True)
class DemoBrand:
    name: str
    slug: str
    domain: str
    team: tuple[TeamMember, ...]
    keys: tuple[KeySpec, ...] = field(default=())


def generate_brand(seed: int = 7, size: DemoSize | None = None) -> DemoBrand:
    """The demo brand for ``seed``: its name, its team with every role, and its API keys."""
    size = size or DemoSize()
    rng = random.Random(seed)
    name = rng.choice(BRAND_NAMES)
    slug = "demo"
    domain = "".join(ch for ch in name.lower() if ch.isalnum()) + ".example"
    used: set[str] = set()

    def person() -> str:
        while True:
            full = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            if full not in used:
                used.add(full)
                return full

    team = [
        TeamMember(f"{handle}@{domain}", person(), role, title)
        for handle, role, title in TEAM_ROLES
    ]
    for index in range(size.extra_team_members):
        full = person()
        handle = full.lower().replace(" ", ".")
        role = rng.choice((Role.MARKETER, Role.ANALYST, Role.VIEWER))
        team.append(TeamMember(f"{handle}@{domain}", full, role, f"Team member {index + 1}"))
    keys = (
        KeySpec("Website (analytics.js)", ApiKeyKind.PUBLIC, None, feeds="web"),
        KeySpec("iOS and Android apps", ApiKeyKind.PUBLIC, None, feeds="app"),
        KeySpec("Store POS bridge", ApiKeyKind.PUBLIC, None),
        KeySpec("Data warehouse sync", ApiKeyKind.SECRET, Role.ANALYST),
        KeySpec("Operations scripts", ApiKeyKind.SECRET, Role.ADMIN, feeds="ops"),
    )
    return DemoBrand(name=name, slug=slug, domain=domain, team=tuple(team), keys=keys)
