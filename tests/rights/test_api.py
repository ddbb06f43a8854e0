"""``/v1/rights`` end to end: a marketer records a license and a Spark code, asks the check,
places an ad for its flight, is refused with the reason past the code's end, revokes; a
viewer reads but cannot record; bad fields are 422 naming them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.models.workspace import Role
from tests.rights.assets import an_asset
from tests.rights.conftest import NOW
from tests.support.connectors import keyed_workspace


def test_a_license_a_spark_code_a_check_and_a_placement_through_the_api(
    client: TestClient, session: Session
) -> None:
    marketer = keyed_workspace(session, "glow", Role.MARKETER)
    viewer = keyed_workspace(session, "glow-view", Role.VIEWER)
    asset = an_asset(session, marketer.workspace_id)
    session.commit()
    license_body = {"asset_id": asset, "usages": ["partnership", "email"],
                    "first_day": "2027-01-01", "last_day": "2027-06-30",
                    "time_zone": "America/New_York", "territories": ["US"]}  # fmt: skip
    granted = client.post("/v1/rights/licenses", json=license_body, headers=marketer.headers)
    code = {"asset_id": asset, "platform": "tiktok", "granted_at": NOW.isoformat(), "days": 30}
    spark = client.post("/v1/rights/authorisations", json=code, headers=marketer.headers)
    ad = {"asset_id": asset, "channel": "tiktok", "usage": "partnership", "territory": "US",
          "until": "2027-02-20T00:00:00Z"}  # fmt: skip
    asked = client.post("/v1/rights/check", json=ad, headers=marketer.headers)
    placed = client.post("/v1/rights/placements", json={**ad, "ref": "ad:9"},
                         headers=marketer.headers)  # fmt: skip
    longer = {**ad, "until": "2027-03-20T00:00:00Z", "ref": "ad:10"}
    too_long = client.post("/v1/rights/placements", json=longer, headers=marketer.headers)
    listed = client.get(f"/v1/rights/licenses?asset_id={asset}", headers=marketer.headers)
    revoked = client.post(f"/v1/rights/licenses/{granted.json()['id']}/revoke",
                          headers=marketer.headers)  # fmt: skip
    after = client.post("/v1/rights/check", json=ad, headers=marketer.headers)
    marked = client.post("/v1/rights/takedowns", headers=marketer.headers)
    viewer_tries = client.post("/v1/rights/licenses", json=license_body, headers=viewer.headers)

    assert (granted.status_code, spark.status_code) == (201, 201)
    assert granted.json()["ends_at"] == "2027-07-01T04:00:00Z"
    assert asked.json()["allowed"] is True
    assert asked.json()["authorisation_id"] == spark.json()["id"]
    assert placed.status_code == 201 and placed.json()["status"] == "live"
    assert too_long.status_code == 409
    assert too_long.headers["content-type"] == "application/problem+json"
    assert "before the flight ends" in too_long.json()["reason"]
    assert [lic["id"] for lic in listed.json()] == [granted.json()["id"]]
    assert revoked.json()["revoked_at"] is not None
    assert (after.json()["allowed"], "revoked" in after.json()["reason"]) == (False, True)
    assert marked.json() == {"marked": 1}
    assert viewer_tries.status_code == 403


def test_bad_fields_are_422_naming_them(client: TestClient, session: Session) -> None:
    marketer = keyed_workspace(session, "glow", Role.MARKETER)
    asset = an_asset(session, marketer.workspace_id)
    session.commit()
    base = {"asset_id": asset, "usages": ["email"], "first_day": "2027-01-01"}
    cases = [
        ("/v1/rights/licenses", {**base, "usages": ["billboard"]}, "usages"),
        ("/v1/rights/licenses", {**base, "territories": ["Narnia"]}, "territory"),
        ("/v1/rights/licenses", {**base, "first_day": "0001-01-01", "time_zone": "Asia/Tokyo"},
         "first_day"),
        ("/v1/rights/authorisations", {"asset_id": asset, "platform": "myspace",
                                       "granted_at": NOW.isoformat()}, "platform"),
        ("/v1/rights/check", {"asset_id": asset, "channel": "fax", "usage": "email",
                              "territory": "US"}, "channel"),
    ]  # fmt: skip
    for path, body, field in cases:
        response = client.post(path, json=body, headers=marketer.headers)
        assert response.status_code == 422, (path, body, response.text)
        assert field in response.text, (path, body, response.text)
    unknown = client.post("/v1/rights/licenses", json={**base, "asset_id": "ast_nope"},
                          headers=marketer.headers)  # fmt: skip
    assert unknown.status_code == 404
