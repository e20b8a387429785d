"""`outlay …`: run the platform, stream exports in, run one service, query costs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from outlay.cli.allocation_command import allocation_app
from outlay.settings import get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Outlay: FinOps for AWS, developer first.")
services_app = typer.Typer(no_args_is_help=True, help="Run one Outlay service in this process.")
app.add_typer(services_app, name="services")
pricing_app = typer.Typer(no_args_is_help=True, help="The price catalogue: refresh it from AWS, look prices up.")
app.add_typer(pricing_app, name="pricing")
app.add_typer(allocation_app, name="allocation")
console = Console()
err = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from outlay import __version__

        print(f"outlay {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    pass


class ServiceName(StrEnum):
    LEDGER = "ledger"
    ALLOCATION = "allocation"  # each usage record with its allocation, on outlay.usage.allocated.v1
    ANOMALY = "anomaly"
    FORECAST = "forecast"
    OPTIMIZER = "optimizer"
    GATEWAY = "gateway"
    GENERATOR = "generator"
    METERING = "metering"
    METRICS = "metrics"  # business figures (outlay.business_metrics.v1) into the store


class CostGranularity(StrEnum):
    TOTAL = "total"
    DAY = "day"
    HOUR = "hour"
    MINUTE = "minute"


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


class GateFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class EstimateFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"


def key_values(pairs: list[str], option: str) -> dict[str, str]:
    """["Key=Value", ...] as a mapping; a pair without "=" is a usage error naming the option."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        out[key] = value
    return out


@app.command()
def run(
    backfill_days: Annotated[int, typer.Option(help="Days of generated history to backfill first.")] = 30,
    live_source: Annotated[str, typer.Option(help="generator (demo company) or metering (your AWS).")] = "generator",
) -> None:
    """Start the broker (unless KAFKA_BOOTSTRAP_SERVERS is set), the store and every service."""
    from outlay.cli.launcher import run_platform

    raise typer.Exit(run_platform(get_settings(), backfill_days=backfill_days, live_source=live_source))


@app.command()
def migrate() -> None:
    """Apply schema migrations to the store (DATABASE_URL, or the local SQLite file)."""
    from outlay.store.engine import upgrade

    asyncio.run(upgrade(get_settings().store_url))
    console.print("store is at the latest schema")


@app.command()
def topics() -> None:
    """Create Outlay's topics with their partition counts (idempotent)."""
    from outlay.kafka.topics_admin import ensure_outlay_topics

    settings = get_settings()
    if not settings.kafka_bootstrap_servers:
        err.print("KAFKA_BOOTSTRAP_SERVERS is not set")
        raise typer.Exit(2)
    asyncio.run(ensure_outlay_topics(settings.kafka_bootstrap_servers, settings))
    console.print("topics are in place")


@app.command()
def ingest(
    location: Annotated[str, typer.Argument(help="A file, a directory, or s3://bucket/prefix/")],
    force: Annotated[bool, typer.Option(help="Re-send files already ingested.")] = False,
    tenant: Annotated[str, typer.Option(help="The tenant (organisation) every record belongs to.")] = "default",
) -> None:
    """Stream a cost export (FOCUS, CUR 2.0, legacy CUR; CSV or parquet) into outlay.usage.v1."""
    from outlay.cli.ingest_command import run_ingest
    from outlay.tenancy import tenant_problem

    problem = tenant_problem(tenant)
    if problem is not None:  # refused before anything is read or sent
        err.print(f"[red]--tenant:[/] {problem}")
        raise typer.Exit(2)
    from outlay.telemetry.tracing import setup_tracing, shutdown_tracing

    setup_tracing("ingest")
    try:
        code = asyncio.run(run_ingest(location, force=force, console=console, tenant_id=tenant))
    finally:
        shutdown_tracing()
    raise typer.Exit(code)


@services_app.command("run")
def services_run(
    name: Annotated[ServiceName, typer.Argument(help="Which service to run.")],
    backfill_days: Annotated[int, typer.Option(help="generator: days of history to backfill.")] = 30,
    speedup: Annotated[float, typer.Option(help="generator: simulated minutes per real minute.")] = 1.0,
) -> None:
    """Run one service until SIGINT/SIGTERM."""
    from outlay.cli.service_runner import run_service

    run_service(name.value, backfill_days=backfill_days, speedup=speedup)


@pricing_app.command("sync")
def pricing_sync(
    region: Annotated[list[str], typer.Option(help="Region to price (repeat).")] = ["us-east-1"],  # noqa: B006
    service: Annotated[list[str], typer.Option(help="ec2 and/or rds (repeat).")] = ["ec2", "rds"],  # noqa: B006
) -> None:
    """Download current on-demand prices from the AWS Price List API into the store (AWS credentials needed)."""
    from outlay.cli.pricing_command import run_sync

    try:
        raise typer.Exit(asyncio.run(run_sync(get_settings(), service, region, console)))
    except ValueError as exc:
        err.print(f"[red]--{exc}[/]")
        raise typer.Exit(2) from None


@pricing_app.command("show")
def pricing_show(
    instance_type: Annotated[str, typer.Argument(help="An EC2 instance type or an RDS class (db.m5.large).")],
    region: Annotated[str, typer.Option(help="The region.")] = "us-east-1",
    engine: Annotated[str | None, typer.Option(help="RDS engine (postgres, mysql, …): price an RDS class.")] = None,
) -> None:
    """One on-demand price from the catalogue the services use (bundled, with synced prices laid over it)."""
    from outlay.cli.pricing_command import run_show

    raise typer.Exit(asyncio.run(run_show(get_settings(), instance_type, region, engine, console)))


@app.command()
def commitments(
    path: Annotated[Path, typer.Argument(help="A cost and usage report file, or a directory of them.")],
    output: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = OutputFormat.TABLE,
    decline: Annotated[float, typer.Option(min=0.0, max=0.95, help="Plan for usage falling by this share.")] = 0.0,
) -> None:
    """Reserved Instance utilisation and coverage from cost and usage reports, and further reservations that pay."""
    from outlay.cli.commitments_command import NotACostReport, run_commitments
    from services.ingest.locations import NoExportFiles

    try:
        raise typer.Exit(run_commitments(path, output.value, decline, console))
    except (NotACostReport, NoExportFiles) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


@app.command()
def costs(
    by: Annotated[str, typer.Option(help="Dimension to group by (service, region, tag:team, …).")] = "service",
    days: Annotated[int, typer.Option(help="Period: the last N days (ignored with --start).")] = 30,
    start: Annotated[datetime | None, typer.Option(help="Start (UTC), inclusive.")] = None,
    end: Annotated[datetime | None, typer.Option(help="End (UTC), exclusive; default now.")] = None,
    granularity: Annotated[
        CostGranularity, typer.Option(help="Total over the period, or per day/hour/minute.")
    ] = CostGranularity.TOTAL,
    output: Annotated[OutputFormat, typer.Option("--format", help="table, json or markdown.")] = OutputFormat.TABLE,
) -> None:
    """A table of costs by a chosen dimension and period, straight from the ledger."""
    from outlay.cli.costs_command import render_costs
    from services.gateway.query import QueryError

    stop = (end or datetime.now(UTC)).replace(tzinfo=None)
    begin = start.replace(tzinfo=None) if start else (stop - timedelta(days=days))
    try:
        rendered = asyncio.run(render_costs(by, begin, stop, granularity.value, output.value))
    except QueryError as exc:
        for error in exc.errors:
            option = {"group_by": "--by", "granularity": "--granularity"}.get(error.field, f"--{error.field}")
            err.print(f"[red]{option}:[/] {error.message}")
        raise typer.Exit(2) from None
    if isinstance(rendered, str):
        print(rendered)  # plain stdout so JSON/Markdown can be piped
    else:
        console.print(rendered)


class AskFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


@app.command("ask")
def ask_command(
    question: Annotated[str, typer.Argument(help='e.g. "top 5 services by cost growth this month"')],
    output: Annotated[AskFormat, typer.Option("--format", help="table or json.")] = AskFormat.TABLE,
    api_url: Annotated[
        str | None,
        typer.Option(
            envvar="OUTLAY_API_URL", help="Ask this Outlay API (key: OUTLAY_API_KEY); unset: the local store."
        ),
    ] = None,
) -> None:
    """Ask about cost in plain English: numbers, a short explanation and the query run (exit 1: cannot answer)."""
    from outlay.cli.ask_command import run_ask

    raise typer.Exit(run_ask(question, api_url, output.value, console, err))


PathArg = Annotated[
    Path, typer.Argument(help="A Terraform plan JSON, a Terraform directory or a CloudFormation template.")
]
UsageOpt = Annotated[Path | None, typer.Option(help="YAML usage values for usage-based costs.")]
RegionOpt = Annotated[str | None, typer.Option(help="Region where the input does not say (CloudFormation).")]
ParamOpt = Annotated[list[str], typer.Option(help="CloudFormation parameter, KEY=VALUE (repeatable).")]
BaseOpt = Annotated[Path | None, typer.Option(help="Before the change (default: a plan's own prior state).")]
HeadOpt = Annotated[Path, typer.Option(help="After the change: a plan, a Terraform directory or a template.")]
ApiOpt = Annotated[
    str | None, typer.Option(envvar="OUTLAY_API_URL", help="Outlay API for the forecast (key: OUTLAY_API_KEY).")
]


def _iac(handler: Callable[[], int]) -> None:
    """Run an IaC command: unusable input is a message and exit 2, never a traceback."""
    from rich.markup import escape

    from outlay.iac.comment import CommentError
    from outlay.iac.resources import InputError

    try:
        code = handler()
    except (InputError, CommentError) as exc:
        err.print(f"[red]{escape(str(exc))}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # a defect of ours: say so, with an exit code CI does not read as "gate failed"
        err.print(f"[red]internal error ({type(exc).__name__}): {escape(str(exc))}; please report it[/]",
                  highlight=False, soft_wrap=True)  # fmt: skip
        raise typer.Exit(3) from None
    raise typer.Exit(code)


def _inputs(usage_file: Path | None, region: str | None, parameter: list[str]) -> Any:
    from outlay.cli.iac_commands import Inputs

    return Inputs(usage_file, region, key_values(parameter, "--parameter"))


@app.command()
def estimate(
    path: PathArg,
    usage_file: UsageOpt = None,
    region: RegionOpt = None,
    parameter: ParamOpt = [],  # noqa: B006
    output: Annotated[
        EstimateFormat, typer.Option("--format", help="table, json, markdown or html.")
    ] = EstimateFormat.TABLE,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output.")] = None,
) -> None:
    """The monthly cost of infrastructure code before it is applied, component by component."""
    from outlay.cli.iac_commands import run_estimate

    inputs = _inputs(usage_file, region, parameter)
    _iac(lambda: run_estimate(path, inputs, output.value, out, console, err))


@app.command("diff")
def diff_command(
    head: HeadOpt,
    base: BaseOpt = None,
    usage_file: UsageOpt = None,
    region: RegionOpt = None,
    parameter: ParamOpt = [],  # noqa: B006
    output: Annotated[EstimateFormat, typer.Option("--format", help="table, json or markdown.")] = EstimateFormat.TABLE,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output.")] = None,
) -> None:
    """The monthly cost a change adds or removes, per resource and in total."""
    from outlay.cli.iac_commands import run_diff

    inputs = _inputs(usage_file, region, parameter)
    _iac(lambda: run_diff(base, head, inputs, output.value, out, console, err))


@app.command()
def gate(
    head: HeadOpt,
    policy: Annotated[Path, typer.Option(help="The repository's cost policy (YAML).")],
    base: BaseOpt = None,
    usage_file: UsageOpt = None,
    region: RegionOpt = None,
    parameter: ParamOpt = [],  # noqa: B006
    api_url: ApiOpt = None,
    output: Annotated[GateFormat, typer.Option("--format", help="text or json.")] = GateFormat.TEXT,
) -> None:
    """Exit 1 when the change breaks the policy: cost increase, budget, instance families, required tags."""
    from outlay.cli.iac_commands import run_gate

    inputs = _inputs(usage_file, region, parameter)
    _iac(lambda: run_gate(base, head, policy, inputs, api_url, console, err, output.value))


class CommentPlatform(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"


@app.command()
def comment(
    platform: Annotated[CommentPlatform, typer.Argument(help="github or gitlab.")],
    head: HeadOpt,
    pr: Annotated[int | None, typer.Option(help="Pull/merge request number (GitLab CI: CI_MERGE_REQUEST_IID).")] = None,
    base: BaseOpt = None,
    policy: Annotated[Path | None, typer.Option(help="Also show the gate's verdicts.")] = None,
    usage_file: UsageOpt = None,
    region: RegionOpt = None,
    parameter: ParamOpt = [],  # noqa: B006
    api_url: ApiOpt = None,
) -> None:
    """Post, or update in place, one cost comment on the pull request (token: GITHUB_TOKEN / GITLAB_TOKEN)."""
    from outlay.cli.iac_commands import run_comment

    inputs = _inputs(usage_file, region, parameter)
    _iac(lambda: run_comment(platform.value, pr, base, head, policy, inputs, api_url, console))  # type: ignore[arg-type]


@app.command("report-estimate")
def report_estimate(
    head: HeadOpt,
    repository: Annotated[
        str | None, typer.Option(envvar=["GITHUB_REPOSITORY", "CI_PROJECT_PATH"], help="owner/name of the repository.")
    ] = None,
    pr: Annotated[
        int | None, typer.Option(envvar="CI_MERGE_REQUEST_IID", help="Pull/merge request number (or give --ref).")
    ] = None,
    ref: Annotated[str | None, typer.Option(help="Branch or ref, when there is no pull request.")] = None,
    commit: Annotated[
        str | None, typer.Option(envvar=["GITHUB_SHA", "CI_COMMIT_SHA"], help="The commit estimated (hex sha).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="The pull request's title.")] = None,
    url: Annotated[str | None, typer.Option(help="The pull request's page.")] = None,
    base: BaseOpt = None,
    policy: Annotated[Path | None, typer.Option(help="Also report the gate's verdict (passed or failed).")] = None,
    usage_file: UsageOpt = None,
    region: RegionOpt = None,
    parameter: ParamOpt = [],  # noqa: B006
    api_url: ApiOpt = None,
) -> None:
    """Report the change's monthly cost to the Outlay API (POST /v1/iac/estimates), shown on the dashboard."""
    from outlay.cli.iac_commands import Change, run_report

    inputs = _inputs(usage_file, region, parameter)
    change = Change(repository, pr, ref, commit, title, url)
    _iac(lambda: run_report(change, base, head, policy, inputs, api_url, console, err))


if __name__ == "__main__":
    app()
