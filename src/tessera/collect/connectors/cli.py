"""``tessera connectors``: what is done to every connector source from the terminal."""

from __future__ import annotations

import typer

from tessera.cli_support import console, context, friendly_errors
from tessera.collect.connectors.service import ConnectorService

connectors_cli = typer.Typer(no_args_is_help=True)


@connectors_cli.callback()
def connectors() -> None:
    """Connector sources: Shopify shops, Amazon accounts, file imports."""


@connectors_cli.command("reseal")
@friendly_errors
def connectors_reseal(ctx: typer.Context) -> None:
    """Seal every source's secrets again under TESSERA_SECRET_KEY, in every workspace.

    After the secret key changed (the old one in TESSERA_PREVIOUS_SECRET_KEYS), run this and
    `tessera feeds reseal`; then the old key can be removed. Changes nothing if any source's
    secret cannot be opened, and says which.
    """
    with context(ctx).session() as session:
        count = ConnectorService(session).reseal_secrets()
    console().print(f"sealed the secrets of {count} source(s) under the current key")
