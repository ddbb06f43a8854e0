"""/v1/assets: raw and multipart uploads, refusals as problem+json with nothing kept, review,
renditions and the spec report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.config import Settings
from tessera.models.content import ContentVersion
from tests.content.files import image_bytes, picture
from tests.support.factories import Tenant


def versions(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ContentVersion)) or 0)


def staged_and_stored(settings: Settings) -> list[str]:
    root = settings.data_dir / "content"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_raw_body_upload_answers_the_asset_and_version(
    client: TestClient, tenant: Tenant
) -> None:
    """A PNG sent as the body with ?filename= is kept and listed."""
    data = image_bytes(picture(1080, 1080), "PNG")

    headers = tenant.auth | {"Content-Type": "image/png"}
    path = "/v1/assets?filename=square.png&title=Square&creator_id=crt_9"
    response = client.post(path, content=data, headers=headers)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["asset"]["title"] == "Square"
    assert body["asset"]["creator_id"] == "crt_9"
    assert body["version"]["number"] == 1
    assert body["asset"]["channels"]["meta_feed"] is True
    listed = client.get("/v1/assets", headers=tenant.auth).json()
    assert [a["id"] for a in listed["items"]] == [body["asset"]["id"]]


def test_a_streamed_multipart_upload_is_kept(client: TestClient, tenant: Tenant) -> None:
    """A multipart form's file part and fields make the asset."""
    data = image_bytes(picture(1200, 1500), "JPEG")

    response = client.post(
        "/v1/assets",
        files={"file": ("look.jpg", data, "image/jpeg")},
        data={"title": "Look", "deliverable_id": "dlv_7"},
        headers=tenant.auth,
    )

    assert response.status_code == 201, response.text
    assert response.json()["asset"]["deliverable_id"] == "dlv_7"
    assert response.json()["version"]["media_type"] == "image/jpeg"


def test_a_misnamed_file_is_a_problem_naming_the_field_and_nothing_is_kept(
    client: TestClient, tenant: Tenant, session: Session, settings: Settings
) -> None:
    """A PNG called .jpg answers 422 problem+json, field file; no row, no file left."""
    data = image_bytes(picture(64, 64), "PNG")

    response = client.post("/v1/assets?filename=a.jpg", content=data, headers=tenant.auth)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/unreadable-media")
    assert problem["field"] == "file"
    assert problem["detail"].startswith("the file is named .jpg but holds PNG")
    assert versions(session) == 0
    assert staged_and_stored(settings) == []


def test_a_streamed_body_over_the_limit_is_413_and_nothing_is_kept(
    client: TestClient, tenant: Tenant, session: Session, settings: Settings
) -> None:
    """A body streamed past TESSERA_CONTENT_MAX_VIDEO_BYTES is cut off with 413."""
    client.app.state.settings = settings.model_copy(update={"content_max_video_bytes": 3 << 20})
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(64):
            sent += 1 << 20
            yield b"\1" * (1 << 20)

    response = client.post("/v1/assets?filename=huge.mp4", content=body(), headers=tenant.auth)

    assert response.status_code == 413
    assert response.json()["detail"] == "the file is over the limit of 50 MB"
    assert versions(session) == 0
    assert staged_and_stored(settings) == []


def test_review_renditions_and_specs_through_the_api(
    client: TestClient, tenant: Tenant, tmp_path: Path
) -> None:
    """Request a revision, upload v2, approve it, make the Amazon rendition, read the report."""
    white = picture(1600, 1200, background=(255, 255, 255), product=0.5)
    first = client.post("/v1/assets?filename=kettle.png", content=image_bytes(white, "PNG"),
                        headers=tenant.auth).json()  # fmt: skip
    asset = first["asset"]["id"]

    revise = {"decision": "request_revision", "comment": "fill the frame"}
    asked = client.post(f"/v1/assets/{asset}/reviews", headers=tenant.auth, json=revise)
    fuller = picture(1600, 1200, background=(255, 255, 255), product=0.9)
    second = client.post(f"/v1/assets/{asset}/versions?filename=kettle2.png",
                         content=image_bytes(fuller, "PNG"), headers=tenant.auth)  # fmt: skip
    approved = client.post(f"/v1/assets/{asset}/reviews", headers=tenant.auth,
                           json={"decision": "approve"})  # fmt: skip
    made = client.post(f"/v1/assets/{asset}/renditions", headers=tenant.auth,
                       json={"presets": ["amazon_2000", "email_600"]})  # fmt: skip
    report = client.get(f"/v1/assets/{asset}/specs?print_width_in=4&print_height_in=3",
                        headers=tenant.auth).json()  # fmt: skip
    shown = client.get(f"/v1/assets/{asset}", headers=tenant.auth).json()

    assert asked.status_code == 201 and asked.json()["decision"] == "revision_requested"
    assert second.status_code == 201 and second.json()["version"]["number"] == 2
    assert approved.json()["decision"] == "approved"
    assert made.status_code == 200, made.text
    amazon = next(r for r in made.json() if r["preset"] == "amazon_2000")
    assert (amazon["width"], amazon["height"]) == (2000, 2000)
    assert amazon["master_version_id"] == second.json()["version"]["id"]
    assert all(rule["passed"] for rule in amazon["spec_results"])
    assert report["version"] == 2
    print_rule = next(
        r for r in report["results"] if r["channel"] == "print" and r["rule"] != "media"
    )
    assert print_rule == {"channel": "print", "rule": "resolution", "passed": True,
                          "reason": "400 dpi at 4x3 in"}  # fmt: skip
    assert report["passed"]["amazon_main"] is True
    assert shown["status"] == "approved"
    assert [v["status"] for v in shown["versions"]] == ["revision_requested", "approved"]
    assert shown["versions"][1]["parent_version_id"] == shown["versions"][0]["id"]
    assert [r["comment"] for r in shown["reviews"]] == ["fill the frame", ""]


def test_a_revision_request_without_a_comment_is_refused(
    client: TestClient, tenant: Tenant
) -> None:
    """Asking for changes must say which; the version stays pending."""
    data = image_bytes(picture(300, 300), "PNG")
    asset = client.post("/v1/assets?filename=a.png", content=data,
                        headers=tenant.auth).json()["asset"]["id"]  # fmt: skip

    response = client.post(f"/v1/assets/{asset}/reviews", headers=tenant.auth,
                           json={"decision": "reject", "comment": "  "})  # fmt: skip

    assert response.status_code == 422
    assert response.json()["field"] == "comment"
    assert client.get(f"/v1/assets/{asset}", headers=tenant.auth).json()["status"] == (
        "pending_review")  # fmt: skip


def test_an_unknown_asset_is_404_problem(client: TestClient, tenant: Tenant) -> None:
    """A made-up id answers 404 problem+json on every id route."""
    for path in ("/v1/assets/ast_nope", "/v1/assets/ast_nope/specs",
                 "/v1/assets/ast_nope/renditions"):  # fmt: skip
        response = client.get(path, headers=tenant.auth)
        assert response.status_code == 404
        assert response.json()["type"].endswith("/asset-not-found")
