"""``tessera catalog``: import a catalog file and look at variants."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tessera.catalog.service import CatalogService
from tessera.cli_support import console, context, fail, friendly_errors
from tessera.workspace.service import WorkspaceService

catalog_cli = typer.Typer(
    help="Products, variants, bundles and channel listings.", no_args_is_help=True
)


@catalog_cli.command("import")
@friendly_errors
def catalog_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    format: str = typer.Option("csv", "--format", "-f", help="csv or shopify (product JSON)"),
    channel: str = typer.Option("web", help="The channel Shopify variants are listed on"),
) -> None:
    """Import products, variants, bundles and listings; refused rows are listed, not fatal."""
    if format not in ("csv", "shopify"):
        raise fail("--format must be csv or shopify")
    text = file.read_text(encoding="utf-8-sig")
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = CatalogService(session)
        summary = (
            service.import_csv(ws.id, text)
            if format == "csv"
            else service.import_shopify(ws.id, text, channel)
        )
    console().print(
        f"products: {summary.products_created} created, {summary.products_updated} updated; "
        f"variants: {summary.variants_created} created, {summary.variants_updated} updated; "
        f"listings: {summary.listings}; refused: {len(summary.errors)}"
    )
    for error in summary.errors:
        console().print(f"  [yellow]refused[/yellow] {error}", highlight=False)


@catalog_cli.command("variants")
@friendly_errors
def catalog_variants(
    ctx: typer.Context,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    limit: int = typer.Option(50, min=1, max=200),
) -> None:
    """List variants (SKUs)."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        page = CatalogService(session).list_variants(ws.id, None, limit)
        table = Table("sku", "title", "bundle", "backorder", "id")
        for v in page.items:
            table.add_row(
                v.sku,
                v.title,
                "yes" if v.is_bundle else "",
                "yes" if v.allows_backorder else "",
                v.id,
            )
        console().print(table)
