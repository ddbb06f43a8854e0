"""The content pages: the library grid with status and channel badges, an asset's versions,
reviews, renditions and spec results, its thumbnail; another workspace's asset is not found."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.content.service import ContentService, UploadForm
from tessera.content.storage import files_of_app
from tests.content.files import image_bytes, picture
from tests.dashboard.conftest import sign_in
from tests.support.factories import Tenant, make_tenant


def test_the_library_and_an_asset_page(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    """Two versions, a revision request, a rendition: all on the asset's page; B's is 404."""
    service = ContentService(session, files_of_app(client.app.state))
    ws = tenant.workspace_id
    white = picture(1200, 1200, background=(255, 255, 255), product=0.9)
    one = service.upload_stream(ws, [image_bytes(white, "PNG")], UploadForm("kettle.png"), "t")
    service.review(ws, one.asset.id, "request_revision", "brighter please", "t")
    two = service.upload_stream(ws, [image_bytes(white, "JPEG")],
                                UploadForm("k2.jpg", asset_id=one.asset.id), "t")  # fmt: skip
    service.render(ws, one.asset.id, ["amazon_2000"])
    other = make_tenant(session, "bravo")
    theirs = service.upload_stream(other.workspace_id, [image_bytes(picture(300, 300), "PNG")],
                                   UploadForm("b.png"), "t").asset.id  # fmt: skip
    session.commit()
    assert sign_in(client, tenant.owner_email).status_code == 303

    library = client.get("/content")
    page = client.get(f"/content/{one.asset.id}")
    thumb = client.get(f"/content/{one.asset.id}/thumbnail")
    hidden = client.get(f"/content/{theirs}")
    hidden_thumb = client.get(f"/content/{theirs}/thumbnail")

    assert library.status_code == 200
    assert f'href="/content/{one.asset.id}"' in library.text and theirs not in library.text
    assert "amazon main ✓" in library.text and "pending review" in library.text
    assert 'href="/content"' in library.text  # the nav entry
    assert page.status_code == 200
    assert "brighter please" in page.text
    assert f'<code class="small">{one.version.id}</code>' in page.text  # v2 follows v1
    assert "amazon_2000 2000x2000" in page.text and two.version.id in page.text
    assert "the product fills 9" in page.text  # the JPEG's ringing may widen 90 % a little
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert (hidden.status_code, hidden_thumb.status_code) == (404, 404)
