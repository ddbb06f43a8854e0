"""Replaying the connectors' quarantined records once a person fixed them.

Collect's quarantine (``tessera.collect.quarantine``) replays its own kinds and hands every
other kind to a registered replayer; Collect sits below the connectors, so they register
theirs. Each edge that serves replays (``create_app``, the CLI) calls ``register_replayers``
once while it is built.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tessera.collect.quarantine import Replayer, register_replayer
from tessera.connector.formats import SPECS, FormatSpec, OrderFormat
from tessera.connector.service import ConnectorService
from tessera.connector.webhooks import ShopifyService
from tessera.kit.errors import InvalidInput
from tessera.models.collect import QuarantineEntry, Source


def register_replayers() -> None:
    """Make every connector's quarantine kinds replayable (calling it again is harmless)."""
    for spec in SPECS.values():
        register_replayer(spec.quarantine_kind, _order_replayer(spec))
    register_replayer("refund:shopify", _replay_shopify_refund)


def _source_of(service: ConnectorService, entry: QuarantineEntry, spec: FormatSpec) -> Source:
    assert entry.workspace_id is not None
    if entry.source_id is not None:
        source = service.sources.source(entry.workspace_id, entry.source_id)
        if source is not None:
            return source
    return service.source_for(entry.workspace_id, spec)


def _order_replayer(spec: FormatSpec) -> Replayer:
    def replay(session: Session, entry: QuarantineEntry, fixed: Any) -> str:
        service = ConnectorService(session)
        source = _source_of(service, entry, spec)
        assert entry.workspace_id is not None
        if spec.group_key is not None:
            data = fixed if isinstance(fixed, list) else [fixed]
        else:
            data = [fixed]
        try:
            order = service.to_canonical(spec, entry.workspace_id, source, data)
            result = service.apply_order(entry.workspace_id, source, order)
        except InvalidInput as exc:
            raise InvalidInput(
                f"still refused: {exc.detail}", field=exc.extensions.get("field")
            ) from None
        return f"applied to order {result.order_id} ({result.outcome.value})"

    return replay


def _replay_shopify_refund(session: Session, entry: QuarantineEntry, fixed: Any) -> str:
    shopify = ShopifyService(session)
    assert entry.workspace_id is not None
    source = _source_of(shopify.connector, entry, SPECS[OrderFormat.SHOPIFY])
    try:
        result = shopify.apply_refund(entry.workspace_id, source, fixed)
    except InvalidInput as exc:
        raise InvalidInput(
            f"still refused: {exc.detail}", field=exc.extensions.get("field")
        ) from None
    return f"applied to order {result.order_id} ({len(result.new_refunds)} new refund)"
