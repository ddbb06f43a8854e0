"""Create in the demo: creators across niches and platforms, and (when the demo has somewhere
to keep files) three pictures in the content library with their licenses: one current and
placed in the welcome email, one ending in five days, one ended three days ago whose TikTok ad
is now a takedown task. The pictures are drawn here with Pillow, nothing is downloaded."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from tessera.content.service import ContentService, UploadForm
from tessera.content.storage import ContentFiles
from tessera.creator.schemas import AccountIn, CreatorIn
from tessera.creator.service import CreatorService
from tessera.rights.domain import Usage, Use
from tessera.rights.service import LicenseDraft, RightsService

# name, platform, handle, followers, engagement, niches, bio, top country shares
CREATORS = [
    ("Maya Okafor", "tiktok", "@maya.glows", 182_000, 0.071, ["skincare", "beauty"],
     "Dermatology nurse sharing honest skincare routines for sensitive skin.",
     {"US": 0.62, "GB": 0.12}),
    ("Lucas Ferreira", "instagram", "@lucas.brews", 48_200, 0.052, ["coffee", "food"],
     "Home barista. Pour-overs, grinders and the perfect morning cup.",
     {"BR": 0.41, "US": 0.30}),
    ("Hana Sato", "youtube", "@hanamakes", 410_000, 0.038, ["lifestyle", "home"],
     "Slow living in a small Tokyo flat: cleaning, cooking and calm routines.",
     {"JP": 0.55, "US": 0.18}),
    ("Priya Raman", "instagram", "@priya.runs", 23_900, 0.089, ["fitness", "wellness"],
     "Marathoner and physio. Recovery, mobility and kit that lasts.",
     {"IN": 0.38, "GB": 0.25}),
    ("Tom Becker", "tiktok", "@tomtriesit", 690_000, 0.044, ["comedy", "reviews"],
     "I try the viral products so you don't have to. Brutally honest reviews.",
     {"US": 0.48, "DE": 0.14}),
    ("Amara Diallo", "pinterest", "amaradiallo", 95_000, 0.021, ["home", "decor"],
     "Warm minimalist interiors, rental-friendly decor and thrifted finds.",
     {"FR": 0.35, "US": 0.33}),
    ("Sofia Marquez", "tiktok", "@sofi.skin", 12_400, 0.12, ["skincare", "clean beauty"],
     "Esthetician student. Clean beauty swaps and ingredient breakdowns.",
     {"MX": 0.44, "US": 0.40}),
    ("Jonah Kim", "instagram", "@jonah.outdoors", 156_000, 0.033, ["outdoors", "travel"],
     "Backpacking the Pacific Northwest with a camera and too much coffee.",
     {"US": 0.71, "CA": 0.15}),
    ("Elena Rossi", "youtube", "@elenacooks", 1_240_000, 0.029, ["food", "family"],
     "Weeknight Italian dinners for busy families.",
     {"IT": 0.30, "US": 0.28}),
    ("Kofi Mensah", "instagram", "@kofi.fits", 67_000, 0.058, ["fashion", "menswear"],
     "Menswear on a budget: capsule wardrobes and tailoring tips.",
     {"GB": 0.46, "GH": 0.20}),
]  # fmt: skip


def seed_create(
    session: Session, workspace_id: str, now: datetime, files: ContentFiles | None
) -> None:
    """Creators always; the content library and its rights when ``files`` says where."""
    creators = CreatorService(session, lambda: now)
    made: list[str] = []
    for name, platform, handle, followers, rate, niches, bio, countries in CREATORS:
        slug = handle.lstrip("@").replace(".", "-")
        account = AccountIn(
            platform=platform, handle=handle, followers=followers, engagement_rate=rate
        )
        view = creators.create(
            workspace_id,
            CreatorIn(
                name=name,
                email=f"{slug}@creators.example",
                bio=bio,
                niches=niches,
                audience_countries=countries,
                accounts=[account],
            ),
            source="demo",
        )
        made.append(view.creator.id)
    if files is not None:
        _seed_content(session, workspace_id, now, files, made)


def _seed_content(
    session: Session, workspace_id: str, now: datetime, files: ContentFiles, creators: list[str]
) -> None:
    content = ContentService(session, files, lambda: now)
    rights = RightsService(session, lambda: now)
    today = now.date()
    pictures = [
        ("Serum on white", _product_shot(), creators[0]),
        ("Morning routine", _lifestyle((232, 200, 180), (120, 90, 80)), creators[6]),
        ("Spring drop teaser", _lifestyle((180, 210, 230), (40, 70, 120)), creators[4]),
    ]
    assets: list[str] = []
    for index, (title, data, creator_id) in enumerate(pictures):
        uploaded = content.upload_stream(
            workspace_id, [data], UploadForm(f"demo-{index + 1}.png", title, creator_id), "demo"
        )
        content.review(workspace_id, uploaded.asset.id, "approve", "", "demo")
        assets.append(uploaded.asset.id)
    current, ending, ended = assets
    rights.grant(workspace_id, LicenseDraft(
        current, ["organic", "paid_social", "email", "website"], today - timedelta(days=30),
        today + timedelta(days=335), "America/New_York", territories=["US", "CA"],
        terms="12 months, US and Canada", creator_id=creators[0]))  # fmt: skip
    rights.place(workspace_id, current, Use("email", Usage.EMAIL, "US", now), "template:welcome")
    rights.grant(workspace_id, LicenseDraft(
        ending, ["organic", "email"], today - timedelta(days=85), today + timedelta(days=5),
        "America/New_York", terms="90 days organic and email", creator_id=creators[6]))  # fmt: skip
    rights.grant(workspace_id, LicenseDraft(
        ended, ["paid_social"], today - timedelta(days=33), today - timedelta(days=3),
        "America/New_York", platforms=["tiktok"], terms="30-day TikTok flight",
        creator_id=creators[4]))  # fmt: skip
    flight = Use("tiktok", Usage.PAID_SOCIAL, "US", now - timedelta(days=20),
                 now - timedelta(days=6))  # fmt: skip
    rights.place(workspace_id, ended, flight, "ad:spring-teaser")
    rights.takedowns(workspace_id)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _product_shot() -> bytes:
    """A serum bottle filling most of a pure white 1600 px square (Amazon's main image)."""
    image = Image.new("RGB", (1600, 1600), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((560, 160, 1040, 1500), radius=90, fill=(196, 142, 92))
    draw.rectangle((660, 60, 940, 200), fill=(40, 40, 40))
    draw.rectangle((600, 700, 1000, 1000), fill=(250, 244, 235))
    return _png(image)


def _lifestyle(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> bytes:
    """A 1080x1920 vertical picture: a gradient sky and a few shapes."""
    image = Image.new("RGB", (1080, 1920))
    draw = ImageDraw.Draw(image)
    for y in range(1920):
        mix = y / 1919
        draw.line(
            [(0, y), (1080, y)],
            fill=tuple(int(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)),
        )
    draw.ellipse((340, 500, 740, 900), fill=(250, 230, 200))
    draw.rounded_rectangle((420, 1100, 660, 1700), radius=40, fill=(196, 142, 92))
    return _png(image)
