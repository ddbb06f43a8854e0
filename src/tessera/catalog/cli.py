"""``tessera catalog``: import a catalog file, and look at products, variants and one SKU (the
twins of the dashboard's Products and SKU pages; stock is ``tessera inventory``'s, prices
``tessera prices``')."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tessera.catalog.service import CatalogService
from tessera.cli_support import console, context, fail, friendly_errors, print_table
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
        print_table(table)


@catalog_cli.command("products")
@friendly_errors
def catalog_products(
    ctx: typer.Context,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
    limit: int = typer.Option(50, min=1, max=200),
    cursor: str = typer.Option(None, help="The cursor the previous page printed"),
) -> None:
    """List products with their SKUs, in the order they were added."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        page, variants = CatalogService(session).list_products(ws.id, cursor, limit)
        table = Table("handle", "title", "status", "skus")
        for product in page.items:
            skus = ", ".join(
                v.sku + (" (bundle)" if v.is_bundle else "") for v in variants.get(product.id, [])
            )
            table.add_row(product.handle, product.title, product.status.value, skus)
        print_table(table)
        if page.next_cursor:
            console().print(f"more: --cursor {page.next_cursor}", highlight=False)


@catalog_cli.command("show")
@friendly_errors
def catalog_show(
    ctx: typer.Context,
    sku: str,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace id or slug"),
) -> None:
    """One SKU: its product, a bundle's components or the bundles it goes into, and its
    listings per channel."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        service = CatalogService(session)
        variant = service.variant_by_sku(ws.id, sku)
        product, _ = service.get_product(ws.id, variant.product_id)
        components = service.components([variant.id]).get(variant.id, [])
        bundles = service.bundles_containing([variant.id])
        named = service.variants_by_id(ws.id, {c.variant_id for c in components} | set(bundles))
        out = console()
        out.print(f"{variant.sku}: {variant.title or product.title}", highlight=False)
        out.print(f"product {product.handle} ({product.id}), variant {variant.id}", highlight=False)
        for part in sorted(components, key=lambda c: named[c.variant_id].sku):
            out.print(f"  made of {part.quantity} x {named[part.variant_id].sku}", highlight=False)
        for bundle in sorted(named[b].sku for b in bundles):
            out.print(f"  goes into {bundle}", highlight=False)
        table = Table("channel", "platform", "listed as", "fulfilment")
        for listing in sorted(service.listings_for(ws.id, [variant.id]), key=lambda x: x.channel):
            table.add_row(
                listing.channel,
                listing.platform.value,
                listing.external_id,
                listing.fulfillment_channel.value if listing.fulfillment_channel else "",
            )
        print_table(table, out)
