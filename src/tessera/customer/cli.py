"""``tessera profiles`` (search, show, export, erase) and ``tessera consent record``.

The CLI is a person at a terminal: each command writes the same audit rows as the API, with
``cli`` as the actor.
"""

from __future__ import annotations

import json
from datetime import datetime

import typer
from rich.table import Table

from tessera.cli_support import console, context, fail, friendly_errors, print_table
from tessera.customer.privacy import PrivacyService
from tessera.customer.profiles import ProfileService
from tessera.customer.schemas import ConsentCreate
from tessera.kit.money import Money
from tessera.models.identity import ConsentStatus, ErasureMode
from tessera.workspace.service import WorkspaceService

profiles_cli = typer.Typer(help="Customer profiles: search, the 360, export, erasure.")
consent_cli = typer.Typer(help="Consent per purpose and channel, with its evidence.")
ACTOR = "cli"
WorkspaceOption = typer.Option(..., "--workspace", "-w", help="Workspace id or slug")


@profiles_cli.command("search")
@friendly_errors
def profiles_search(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="Email, phone, loyalty id, order number or name"),
    workspace: str = WorkspaceOption,
    limit: int = typer.Option(20, min=1, max=200, help="How many"),
) -> None:
    """Find customers the way a store clerk does."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        hits = ProfileService(session).search(ws.id, query, limit)
        table = Table("name", "email", "phone", "matched by", "last seen")
        table.add_column("id", no_wrap=True)
        for hit in hits:
            table.add_row(
                hit.name or "",
                hit.email or "",
                hit.phone or "",
                hit.matched_by,
                hit.last_seen.isoformat(timespec="minutes") if hit.last_seen else "",
                hit.id,
            )
        if hits:
            print_table(table)
        else:
            console().print("no customer matches")


@profiles_cli.command("show")
@friendly_errors
def profiles_show(
    ctx: typer.Context,
    profile_id: str = typer.Argument(...),
    workspace: str = WorkspaceOption,
) -> None:
    """Print a customer's 360: traits, identities, orders and revenue, consents, merges."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        view = ProfileService(session).view(ws.id, profile_id, actor=ACTOR)
        console().print(f"[bold]{view.name or view.id}[/bold] {view.id}", highlight=False)
        if view.requested_id != view.id:
            console().print(f"({view.requested_id} was merged into this profile)")
        computed = view.computed
        revenue = ", ".join(str(Money(m.amount, m.currency)) for m in computed.revenue) or "none"
        console().print(
            f"channels: {', '.join(computed.channels) or 'none'} · events: "
            f"{computed.event_count} · orders: {computed.order_count} · revenue: {revenue}",
            highlight=False,
        )
        traits = Table("trait", "value")
        for key, value in sorted(view.traits.items()):
            traits.add_row(key, json.dumps(value) if not isinstance(value, str) else value)
        print_table(traits)
        identities = Table("type", "value", "raw", "first seen")
        for ident in view.identifiers:
            identities.add_row(
                ident.type, ident.value, ident.raw, ident.first_seen.isoformat(timespec="minutes")
            )
        print_table(identities)
        if view.consents:
            consents = Table("purpose", "channel", "status", "identifier", "recorded", "source")
            for consent in view.consents:
                consents.add_row(
                    consent.purpose,
                    consent.channel,
                    consent.status.value,
                    consent.identifier_value,
                    consent.recorded_at.isoformat(timespec="minutes"),
                    consent.source,
                )
            print_table(consents)
        for merge in view.merges:
            state = f" (undone {merge.undone_at:%Y-%m-%d})" if merge.undone_at else ""
            console().print(
                f"merge {merge.id}: {merge.absorbed_profile_id} into "
                f"{merge.survivor_profile_id} by {merge.cause_kind} {merge.cause_ref}{state}",
                highlight=False,
            )


@profiles_cli.command("export")
@friendly_errors
def profiles_export(
    ctx: typer.Context,
    profile_id: str = typer.Argument(...),
    workspace: str = WorkspaceOption,
) -> None:
    """Write everything held about a customer as JSON to standard output."""
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        data = PrivacyService(session).export(ws.id, profile_id, actor=ACTOR)
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@profiles_cli.command("erase")
@friendly_errors
def profiles_erase(
    ctx: typer.Context,
    profile_id: str = typer.Argument(...),
    workspace: str = WorkspaceOption,
    anonymise: bool = typer.Option(
        False, "--anonymise", help="Keep events and orders (counts, revenue) without who"
    ),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
) -> None:
    """Erase a customer everywhere, keeping only salted hashes so replays re-create nothing."""
    mode = ErasureMode.ANONYMISE if anonymise else ErasureMode.DELETE
    if not yes:
        typer.confirm(f"Erase {profile_id} ({mode.value})? This cannot be undone", abort=True)
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        erasure = PrivacyService(session).erase(ws.id, profile_id, mode, actor=ACTOR)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(erasure.counts.items()))
        console().print(f"erased {erasure.profile_id} ({mode.value}) as {erasure.id}: {counts}")


@consent_cli.command("record")
@friendly_errors
def consent_record(
    ctx: typer.Context,
    profile_id: str = typer.Argument(...),
    identifier: str = typer.Option(
        ..., help="type:value of the profile's identifier, e.g. email:ana@example.com"
    ),
    purpose: str = typer.Option(..., help="marketing, analytics or personalisation"),
    channel: str = typer.Option(..., help="email, sms, push, web, app, whatsapp or all"),
    status: ConsentStatus = typer.Option(..., help="granted, denied or withdrawn"),
    source: str = typer.Option(..., help="Where it was given: a form URL, a store, an import"),
    wording: str = typer.Option("", help="The words the person agreed to"),
    recorded_at: datetime = typer.Option(None, help="When it was said (UTC); now if omitted"),
    workspace: str = WorkspaceOption,
) -> None:
    """Record a customer's yes or no for one purpose on one channel."""
    kind, sep, value = identifier.partition(":")
    if not sep or not kind or not value:
        raise fail("--identifier: write it as type:value, e.g. email:ana@example.com")
    body = ConsentCreate(
        identifier_type=kind,
        identifier_value=value,
        purpose=purpose,
        channel=channel,
        status=status,
        source=source,
        wording=wording,
        recorded_at=recorded_at,
    )
    with context(ctx).session() as session:
        ws = WorkspaceService(session).find_workspace(workspace)
        consent = PrivacyService(session).record_consent(ws.id, profile_id, body, actor=ACTOR)
        console().print(
            f"recorded {consent.status.value} for {consent.purpose} by {consent.channel} "
            f"on {consent.identifier_type} {consent.identifier_value} ({consent.id})",
            highlight=False,
        )
