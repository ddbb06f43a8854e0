"""Uploads are judged by their bytes: real images and videos kept with what they hold, and
corrupt, truncated, misnamed and oversized files refused with the reason and nothing kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.content.errors import UnreadableMedia, UploadTooLarge
from tessera.content.service import ContentService, UploadForm
from tessera.content.storage import ContentFiles
from tessera.models.content import ContentAsset, ContentVersion, ReviewState
from tests.content.conftest import stored_objects
from tests.content.files import image_bytes, picture, video_file
from tests.support.factories import Tenant


def rows(session: Session) -> tuple[int, int]:
    assets = session.scalar(select(func.count()).select_from(ContentAsset))
    versions = session.scalar(select(func.count()).select_from(ContentVersion))
    return int(assets or 0), int(versions or 0)


def chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_an_image_is_kept_with_its_measurements(
    service: ContentService, files: ContentFiles, tenant: Tenant
) -> None:
    """A PNG is stored with its size, dimensions, hash and spec results, pending review."""
    data = image_bytes(picture(1200, 1500), "PNG", dpi=(300, 300))

    result = service.upload_stream(tenant.workspace_id, chunks(data), UploadForm("hero.png"), "t")

    version = result.version
    assert (version.kind.value, version.media_type, version.width, version.height) == (
        "image", "image/png", 1200, 1500)  # fmt: skip
    assert version.size_bytes == len(data)
    assert version.facts["dpi"] == 300.0
    assert version.status is ReviewState.PENDING_REVIEW
    assert result.asset.title == "hero"
    assert len(version.perceptual_hash) == 16
    assert files.store.read(version.storage_key) == data
    assert files.staging.leftovers() == []
    email = {r["rule"]: r["passed"] for r in version.spec_results if r["channel"] == "email"}
    assert email == {"media": True, "width": True, "retina": True, "colour": True,
                     "file_size": email["file_size"]}  # fmt: skip


def test_a_video_is_probed_with_codec_duration_fps_and_audio(
    service: ContentService, tenant: Tenant, tmp_path: Path
) -> None:
    """An H.264 MP4 with AAC sound reads as such, with its duration and frame rate."""
    path = video_file(tmp_path / "clip.mp4", seconds=2.0, fps=12, audio=True)

    version = service.upload_stream(
        tenant.workspace_id, chunks(path.read_bytes()), UploadForm("clip.mp4"), "t"
    ).version

    assert (version.kind.value, version.codec, version.audio_codec, version.fps) == (
        "video", "h264", "aac", 12.0)  # fmt: skip
    assert (version.width, version.height) == (320, 568)
    assert version.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert version.bitrate is not None and version.bitrate > 0
    tiktok = {r["rule"]: r["reason"] for r in version.spec_results if r["channel"] == "tiktok"}
    assert tiktok["resolution"] == "320x568 is under 720x1280 for 9:16"
    assert tiktok["duration"] == "2 s is outside 5-60 s"


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("photo.jpg", lambda p: image_bytes(picture(64, 64), "PNG"),
         "the file is named .jpg but holds PNG (image/png)"),
        ("photo.jpg", lambda p: b"just some text, not a picture\n" * 20,
         "the file is not an image or a video we can read whole"),
        ("photo.png", lambda p: image_bytes(picture(400, 300), "PNG")[:900],
         "the image is corrupt or truncated"),
        ("photo.jpg", lambda p: image_bytes(picture(400, 300), "JPEG")[:1500],
         "the image is corrupt or truncated"),
        ("clip.mp4", lambda p: video_file(p / "v.mp4").read_bytes()[:3000],
         "the file is not an image or a video we can read whole"),
        ("clip.jpg", lambda p: video_file(p / "v.mp4").read_bytes(),
         "the file is named .jpg but holds mp4 (video/mp4)"),
    ],
    ids=["png-named-jpg", "text-named-jpg", "truncated-png", "truncated-jpeg",
         "truncated-mp4", "mp4-named-jpg"],
)  # fmt: skip
def test_a_bad_file_is_refused_with_its_reason_and_nothing_kept(
    service: ContentService, files: ContentFiles, session: Session, tenant: Tenant,
    tmp_path: Path, name: str, make: object, reason: str,
) -> None:  # fmt: skip
    """Misnamed, text and cut-off files are refused naming why; no row, object or staged file."""
    data = make(tmp_path)  # type: ignore[operator]

    with pytest.raises(UnreadableMedia) as refused:
        service.upload_stream(tenant.workspace_id, chunks(data), UploadForm(name), "t")

    assert refused.value.detail.startswith(reason)
    assert refused.value.extensions["field"] == "file"
    assert rows(session) == (0, 0)
    assert stored_objects(files) == []
    assert files.staging.leftovers() == []


def test_a_corrupt_png_is_refused(
    service: ContentService, files: ContentFiles, session: Session, tenant: Tenant
) -> None:
    """A PNG whose pixel data was damaged fails its checksum and is refused."""
    data = bytearray(image_bytes(picture(200, 200), "PNG"))
    data[len(data) // 2] ^= 0xFF

    with pytest.raises(UnreadableMedia) as refused:
        service.upload_stream(tenant.workspace_id, [bytes(data)], UploadForm("x.png"), "t")

    assert refused.value.detail.startswith("the image is corrupt or truncated")
    assert rows(session) == (0, 0)
    assert stored_objects(files) == []


def test_a_stream_past_the_limit_is_cut_off_without_reading_the_rest(
    service: ContentService, files: ContentFiles, session: Session, tenant: Tenant
) -> None:
    """An endless stream is refused at the limit (20 MB here): read no further, nothing kept."""
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        block = b"\0" * (1024 * 1024)
        while True:
            sent += len(block)
            yield block

    with pytest.raises(UploadTooLarge) as refused:
        service.upload_stream(tenant.workspace_id, endless(), UploadForm("big.mp4"), "t")

    assert refused.value.detail == "the file is over the limit of 20 MB"
    assert sent == 21 * 1024 * 1024
    assert files.staging.leftovers() == []
    assert rows(session) == (0, 0)


def test_an_image_over_the_image_limit_is_refused_after_sniffing(
    service: ContentService, files: ContentFiles, session: Session, tenant: Tenant
) -> None:
    """Images have their own, lower limit (5 MB here): a 6 MB TIFF is refused naming it."""
    noise = Image.effect_noise((1500, 1400), 80).convert("RGB")
    data = image_bytes(noise, "TIFF")
    assert len(data) > 5 * 1024 * 1024

    with pytest.raises(UploadTooLarge) as refused:
        service.upload_stream(tenant.workspace_id, chunks(data, 65536), UploadForm("a.tif"), "t")

    assert refused.value.detail.endswith("over the limit of 5 MB for images")
    assert rows(session) == (0, 0)
    assert stored_objects(files) == []


def test_a_re_upload_is_reported_as_a_near_duplicate_of_the_first(
    service: ContentService, tenant: Tenant
) -> None:
    """The same picture resized and saved as JPEG matches the first asset; another does not."""
    first = service.upload_stream(
        tenant.workspace_id, [image_bytes(picture(1000, 1000), "PNG")], UploadForm("a.png"), "t"
    )
    copy = image_bytes(picture(1000, 1000).resize((700, 700)), "JPEG", quality=70)
    other = picture(1000, 1000, seed=4, background=(240, 220, 10), product=0.3).rotate(90)

    again = service.upload_stream(tenant.workspace_id, [copy], UploadForm("b.jpg"), "t")
    fresh = service.upload_stream(
        tenant.workspace_id, [image_bytes(other, "PNG")], UploadForm("c.png"), "t"
    )

    assert again.duplicate is not None
    assert (again.duplicate.asset_id, again.duplicate.version_id) == (
        first.asset.id, first.version.id)  # fmt: skip
    assert again.version.duplicate_of_version_id == first.version.id
    assert fresh.duplicate is None


def test_a_new_upload_for_a_deliverable_is_its_next_version(
    service: ContentService, tenant: Tenant
) -> None:
    """Uploads for one deliverable are versions 1, 2 of one asset, each naming its parent."""
    ws = tenant.workspace_id
    form = UploadForm("take.png", creator_id="crt_1", deliverable_id="dlv_1")

    one = service.upload_stream(ws, [image_bytes(picture(800, 800), "PNG")], form, "t")
    two = service.upload_stream(ws, [image_bytes(picture(800, 800, seed=3), "PNG")], form, "t")

    assert two.asset.id == one.asset.id
    assert (one.version.number, two.version.number) == (1, 2)
    assert two.version.parent_version_id == one.version.id
    assert one.version.parent_version_id is None
    assert two.asset.version_count == 2
    assert one.asset.creator_id == "crt_1"


def test_a_version_of_another_kind_is_refused(
    service: ContentService, session: Session, tenant: Tenant, tmp_path: Path
) -> None:
    """An image asset's next version cannot be a video."""
    ws = tenant.workspace_id
    first = service.upload_stream(ws, [image_bytes(picture(300, 300), "PNG")],
                                  UploadForm("a.png"), "t")  # fmt: skip
    clip = video_file(tmp_path / "v.mp4").read_bytes()

    with pytest.raises(Exception) as refused:
        service.upload_stream(ws, [clip], UploadForm("v.mp4", asset_id=first.asset.id), "t")

    assert "a new version must be one too" in str(refused.value)
    assert rows(session) == (1, 1)
