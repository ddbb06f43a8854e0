"""``tessera rights``: grant a license, list it, ask the check on a day inside and after its
term (exit 0 and 1 with the reason), and a bad territory named without a traceback."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tests.rights.assets import an_asset
from tests.support.cli import invoke
from tests.support.factories import make_tenant


def test_grant_list_and_check_from_the_command_line(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    tenant = make_tenant(session, "glow")
    asset = an_asset(session, tenant.workspace_id)
    session.commit()
    ws = ("-w", tenant.workspace_id)

    granted = invoke(settings, session_factory, "rights", "grant", asset, "-u", "email",
                     "--from", "2027-01-01", "--to", "2027-03-31", "--zone", "America/New_York",
                     "-t", "US", *ws)  # fmt: skip
    listed = invoke(settings, session_factory, "rights", "licenses", asset, *ws)
    inside = invoke(settings, session_factory, "rights", "check", asset, "-c", "email",
                    "-u", "email", "-t", "US", "--on", "2027-03-31", *ws)  # fmt: skip
    after = invoke(settings, session_factory, "rights", "check", asset, "-c", "email",
                   "-u", "email", "-t", "US", "--on", "2027-04-02", *ws)  # fmt: skip
    bad = invoke(settings, session_factory, "rights", "grant", asset, "-u", "email",
                 "--from", "2027-01-01", "-t", "Narnia", *ws)  # fmt: skip

    assert granted[0] == 0 and "2027-04-01 04:00 UTC" in granted[1], granted[1]
    assert listed[0] == 0 and asset in listed[1] and "email" in listed[1]
    assert inside[0] == 0 and "allowed" in inside[1]
    assert after[0] == 1 and "ended at 2027-04-01 04:00 UTC" in after[1]
    assert bad[0] != 0 and "territory" in bad[1] and "Traceback" not in bad[1]
