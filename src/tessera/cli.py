"""The ``tessera`` command: one Typer app, each domain adding its own group."""

from __future__ import annotations

import json

import typer

from tessera.analytics.advice.cli import analytics_mmm_export, report_advice
from tessera.analytics.forecast.cli import report_forecast
from tessera.analytics.report.cli import analytics_cli, report_cli
from tessera.catalog.cli import catalog_cli
from tessera.cli_support import console, context, fail, friendly_errors
from tessera.collect.cli import quarantine_cli
from tessera.config import ConfigError, get_settings
from tessera.connector.cli import connectors_cli, import_cli
from tessera.connector.replay import register_replayers
from tessera.content.cli import assets_cli
from tessera.creator.cli import creators_cli
from tessera.customer.cli import consent_cli, profiles_cli
from tessera.feed.cli import feeds_cli
from tessera.identity.graph.cli import merges_cli
from tessera.identity.match.cli import identity_cli
from tessera.inventory.cli import inventory_cli
from tessera.job.cli import jobs_cli
from tessera.journey.cli import journeys_cli
from tessera.kit.logging import configure_logging
from tessera.loyalty.cli import loyalty_cli
from tessera.message.cli import messages_cli, recommend, templates_cli
from tessera.order.cli import orders_cli
from tessera.pricing.cli import prices_cli
from tessera.rights.cli import rights_cli
from tessera.segment.cli import audiences_cli, segments_cli
from tessera.worker import worker_command
from tessera.workspace.cli import key_cli, user_cli, workspace_cli

app = typer.Typer(
    help="Tessera: one customer, one inventory and one message stream across every channel.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_cli = typer.Typer(help="Effective configuration.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)


@config_cli.command("show")
@friendly_errors
def config_show(ctx: typer.Context) -> None:
    """Print the effective settings, secrets masked."""
    console().print_json(json.dumps(context(ctx).get_settings().masked(), default=str))


@db_cli.command("upgrade")
@friendly_errors
def db_upgrade(ctx: typer.Context, revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from tessera.db.migrate import upgrade

    settings = context(ctx).get_settings()
    upgrade(settings.database_url, revision)
    console().print(f"database is at {revision}")


@app.command("serve")
@friendly_errors
def serve(
    ctx: typer.Context,
    host: str = typer.Option(None, help="Bind address (TESSERA_HOST)"),
    port: int = typer.Option(None, help="Port (TESSERA_PORT)"),
    reload: bool = typer.Option(False, help="Reload on code changes (development)"),
    workers: int = typer.Option(1, min=1, help="Worker processes (about one per CPU core)"),
) -> None:
    """Run the API and the dashboard."""
    import uvicorn

    settings = context(ctx).get_settings()
    uvicorn.run(
        "tessera.app:build_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        reload=reload,
        workers=workers,
        log_config=None,
        access_log=False,
        # X-Forwarded-For is the app's to believe, from TESSERA_TRUSTED_PROXIES only:
        # uvicorn's own default believes any connection from 127.0.0.1.
        proxy_headers=False,
    )


app.add_typer(config_cli, name="config")
app.add_typer(db_cli, name="db")
app.add_typer(workspace_cli, name="workspace")
app.add_typer(user_cli, name="user")
app.add_typer(key_cli, name="key")
app.add_typer(jobs_cli, name="jobs")
app.command("worker")(worker_command)
register_replayers()  # `tessera quarantine replay` applies connector records too
app.add_typer(import_cli, name="import")
app.add_typer(quarantine_cli, name="quarantine")
app.add_typer(connectors_cli, name="connectors")
app.add_typer(orders_cli, name="orders")
app.add_typer(catalog_cli, name="catalog")
app.add_typer(inventory_cli, name="inventory")
app.add_typer(journeys_cli, name="journeys")
report_cli.command("forecast")(report_forecast)
report_cli.command("advice")(report_advice)
analytics_cli.command("mmm-export")(analytics_mmm_export)
app.add_typer(report_cli, name="report")
app.add_typer(analytics_cli, name="analytics")
profiles_cli.command("recommend")(recommend)  # message sits above customer: attached here
app.add_typer(profiles_cli, name="profiles")
app.add_typer(consent_cli, name="consent")
app.add_typer(feeds_cli, name="feeds")
app.add_typer(prices_cli, name="prices")
app.add_typer(identity_cli, name="identity")
app.add_typer(merges_cli, name="merges")
app.add_typer(templates_cli, name="templates")
app.add_typer(messages_cli, name="messages")
app.add_typer(segments_cli, name="segments")
app.add_typer(audiences_cli, name="audiences")
app.add_typer(loyalty_cli, name="loyalty")
app.add_typer(rights_cli, name="rights")
app.add_typer(creators_cli, name="creators")
app.add_typer(assets_cli, name="assets")


def main() -> None:
    """Console entry point; a bad setting prints one line and exits 2. Log lines below
    TESSERA_CLI_LOG_LEVEL (ERROR by default) stay out of a command's output."""
    try:
        configure_logging(get_settings().cli_log_level, as_json=False)
        app()
    except ConfigError as exc:
        fail(str(exc), 2)
        raise SystemExit(2) from None


@app.command("demo")
@friendly_errors
def demo(
    ctx: typer.Context,
    seed: int = typer.Option(7, help="Seed of the generated brand; the same seed, the same brand"),
    size: str = typer.Option("medium", help="small, medium or large"),
    host: str = typer.Option("127.0.0.1", help="Bind address"),
    port: int = typer.Option(8000, help="Port of the API and dashboard"),
    fresh: bool = typer.Option(False, help="Start from an empty demo database (SQLite only)"),
    serve: bool = typer.Option(True, help="Run API and worker after seeding"),
) -> None:
    """Seed a demo brand and run the API, the worker and the dashboard together."""
    from tessera.demo.generator import DemoSize
    from tessera.demo.runner import DemoOptions, run

    try:
        DemoSize.named(size)
    except ValueError as exc:
        raise fail(f"--size: {exc}") from None
    options = DemoOptions(seed=seed, size=size, host=host, port=port, fresh=fresh, serve=serve)
    raise typer.Exit(run(context(ctx).get_settings(), options, console()))
