"""The quarantine keeps every refusal, whatever the refused payload looks like."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.collect.quarantine import QuarantineService
from tests.support.factories import make_tenant


def test_a_refusal_naming_a_field_longer_than_its_column_is_kept_cut(session: Session) -> None:
    """A hostile body's key path of 300 characters names the refused field: the entry is
    stored with the path cut to its column (a 500 on PostgreSQL before), and nothing else."""
    tenant = make_tenant(session, "longfield")
    path = "orders[0]." + "x" * 300

    entry = QuarantineService(session).keep(
        tenant.workspace_id, "POST /v1/connectors/tiktok/orders", "not an order", {}, field=path
    )
    session.flush()
    session.expire_all()

    assert entry.field == path[:200]
    assert entry.reason == "not an order"
