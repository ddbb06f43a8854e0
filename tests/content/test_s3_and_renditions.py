"""Content on an S3-compatible store (moto's server on localhost), and renditions of a video
master re-encoded and checked against TikTok and Reels."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy.orm import Session

from tessera.config import load_settings
from tessera.content.errors import UnreadableMedia
from tessera.content.media import probe
from tessera.content.service import ContentService, UploadForm
from tessera.content.storage import ContentFiles, S3Store
from tests.content.files import image_bytes, picture, video_file
from tests.support.factories import Tenant


@pytest.fixture
def s3_files(tmp_path: Path) -> Iterator[ContentFiles]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    settings = load_settings(
        data_dir=tmp_path, storage_backend="s3", s3_endpoint_url=f"http://{host}:{port}",
        s3_bucket=f"content-{uuid.uuid4().hex[:12]}", s3_access_key_id="test",
        s3_secret_access_key="test",
    )  # fmt: skip
    files = ContentFiles.from_settings(settings)
    assert isinstance(files.store, S3Store)
    # moto's backends are one per process: a bucket of this test's own keeps tests apart.
    files.store.client.create_bucket(Bucket=files.store.bucket)
    yield files
    server.stop()


def keys(files: ContentFiles) -> list[str]:
    assert isinstance(files.store, S3Store)
    found = files.store.client.list_objects_v2(Bucket=files.store.bucket)
    return sorted(item["Key"] for item in found.get("Contents", []))


def test_uploads_and_renditions_live_in_the_bucket(
    session: Session, s3_files: ContentFiles, tenant: Tenant
) -> None:
    """The master, its thumbnail and its rendition are objects in the bucket, under the
    workspace's prefix; nothing stays in staging."""
    service = ContentService(session, s3_files)
    data = image_bytes(picture(1600, 1600), "JPEG")

    up = service.upload_stream(tenant.workspace_id, [data], UploadForm("p.jpg"), "t")
    made = service.render(tenant.workspace_id, up.asset.id, ["email_600"])

    assert keys(s3_files) == sorted(
        [up.version.storage_key, up.version.thumbnail_key or "", made[0].storage_key]
    )
    assert all(k.startswith(tenant.workspace_id + "/") for k in keys(s3_files))
    assert s3_files.store.read(up.version.storage_key) == data
    assert (made[0].width, made[0].height) == (600, 600)
    assert s3_files.staging.leftovers() == []


def test_a_refused_upload_leaves_the_bucket_empty(
    session: Session, s3_files: ContentFiles, tenant: Tenant
) -> None:
    """A text file called .png is refused before anything reaches the bucket."""
    service = ContentService(session, s3_files)

    with pytest.raises(UnreadableMedia):
        service.upload_stream(tenant.workspace_id, [b"hello" * 100], UploadForm("t.png"), "t")

    assert keys(s3_files) == []
    assert s3_files.staging.leftovers() == []


def test_video_renditions_are_re_encoded_with_their_sound_and_checked(
    service: ContentService, tenant: Tenant, tmp_path: Path
) -> None:
    """A landscape clip's 9:16 rendition is 1080x1920 H.264 with the AAC kept, checked against
    TikTok (failing only on the clip's 2 s) and Reels; renditions made twice are made once."""
    clip = video_file(tmp_path / "wide.mp4", width=480, height=270, seconds=2.0, audio=True)
    up = service.upload_stream(tenant.workspace_id, [clip.read_bytes()], UploadForm("w.mp4"), "t")

    made = service.render(tenant.workspace_id, up.asset.id, ["9x16"])
    again = service.render(tenant.workspace_id, up.asset.id, ["9x16"])

    rendition = made[0]
    assert [r.id for r in again] == [rendition.id]
    assert (rendition.width, rendition.height, rendition.master_version_id) == (
        1080, 1920, up.version.id)  # fmt: skip
    assert (rendition.facts["codec"], rendition.facts["audio_codec"]) == ("h264", "aac")
    failed = [(r["channel"], r["rule"]) for r in rendition.spec_results if not r["passed"]]
    assert failed == [("tiktok", "duration")]
    local = tmp_path / "r.mp4"
    service.files.store.fetch(rendition.storage_key, local)
    assert probe(local, "r.mp4").facts.duration_seconds == pytest.approx(2.0, abs=0.15)


def test_an_image_master_makes_every_image_preset(service: ContentService, tenant: Tenant) -> None:
    """Six presets from one image, each its exact size and passing its own size rule."""
    data = image_bytes(picture(1920, 1080), "PNG")
    up = service.upload_stream(tenant.workspace_id, [data], UploadForm("m.png"), "t")

    made = service.render(tenant.workspace_id, up.asset.id)

    sizes = {r.preset: (r.width, r.height) for r in made}
    assert sizes == {"9x16": (1080, 1920), "4x5": (1080, 1350), "1x1": (1080, 1080),
                     "email_600": (600, 338), "email_1200": (1200, 675),
                     "amazon_2000": (2000, 2000)}  # fmt: skip
    assert all(r.spec_results[0]["passed"] for r in made)
    assert {r.master_version_id for r in made} == {up.version.id}
