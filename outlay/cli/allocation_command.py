"""`outlay allocation show|rules`: allocated cost per owner, and the allocation rules, from the local store.

Like `outlay costs`, it reads the store the platform writes (DATABASE_URL, or the SQLite file `outlay run` uses),
for one tenant (`--tenant`, default `default`). The gateway serves the same reports over `/v1/allocation`.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from outlay.tenancy import DEFAULT_TENANT

allocation_app = typer.Typer(no_args_is_help=True, help="Cost allocation: who owns which cost, and the rules.")
console = Console()
err = Console(stderr=True)
CLI_ACTOR = "outlay CLI (local store)"


class ShowFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class ShowGrain(StrEnum):
    DAY = "day"
    MONTH = "month"


TenantOpt = Annotated[str, typer.Option(help="Whose costs and rules.")]


@allocation_app.command("show")
def show(
    by: Annotated[str, typer.Option(help="The dimension the rules define (e.g. team).")] = "team",
    days: Annotated[int, typer.Option(min=1, max=800, help="The last N whole days (ignored with --start).")] = 30,
    start: Annotated[datetime | None, typer.Option(help="First day (UTC).")] = None,
    end: Annotated[datetime | None, typer.Option(help="Day after the last (UTC); default tomorrow.")] = None,
    grain: Annotated[ShowGrain, typer.Option(help="Buckets the shared splits are made in.")] = ShowGrain.DAY,
    output: Annotated[ShowFormat, typer.Option("--format", help="table or json.")] = ShowFormat.TABLE,
    tenant: TenantOpt = DEFAULT_TENANT,
) -> None:
    """Allocated cost per owner over a period: direct, shared parts and (unallocated), and the share allocated."""
    tenant = _checked(tenant)
    stop = _day(end) if end else _day(datetime.now(UTC)) + timedelta(days=1)
    begin = _day(start) if start else stop - timedelta(days=days)
    if grain is ShowGrain.MONTH:
        begin, stop = begin.replace(day=1), _next_month_start(stop)
    try:
        report = asyncio.run(_report(tenant, by, begin, stop, grain.value))
    except ValueError as exc:
        err.print(f"[red]--by:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if output is ShowFormat.JSON:
        print(json.dumps(report, indent=2))
        return
    for totals in report["totals"]:
        table = Table(title=f"{by}, {report['start']} – {report['end']} ({totals['currency']}, {totals['cost_kind']})")
        for column in ("value", "direct", "shared", "total"):
            table.add_column(column, justify="left" if column == "value" else "right")
        for v in totals["values"]:
            shared = ", ".join(f"{rule} {amount}" for rule, amount in v["shared"].items())
            table.add_row(escape(v["value"]), v["direct"], escape(shared), v["total"])
        console.print(table)
        share = totals["allocated_share"]
        console.print(f"total {totals['total']}, allocated share {'n/a' if share is None else f'{share:.1%}'}")
    if not report["totals"]:
        console.print("no cost in the period")


@allocation_app.command("rules")
def rules(
    set_file: Annotated[
        Path | None, typer.Option("--set", help="Store this YAML or JSON file as the next version.")
    ] = None,
    versions: Annotated[bool, typer.Option("--versions", help="List every version instead.")] = False,
    tenant: TenantOpt = DEFAULT_TENANT,
) -> None:
    """Show the current allocation rules (YAML), list their versions, or store a new version (`--set`)."""
    tenant = _checked(tenant)
    if set_file is not None:
        from outlay.allocation.rules import AllocationRules

        try:
            parsed = AllocationRules.model_validate(yaml.safe_load(set_file.read_text()))
        except (OSError, yaml.YAMLError) as exc:
            err.print(f"[red]--set:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
        except ValidationError as exc:
            for problem in exc.errors():
                where = ".".join(str(p) for p in problem["loc"])
                err.print(f"[red]{escape(where)}:[/] {escape(problem['msg'])}")
            raise typer.Exit(2) from None
        version = asyncio.run(_put(tenant, parsed))
        console.print(f"stored version {version}")
        return
    found = asyncio.run(_versions(tenant, 1000 if versions else 1))
    if not found:
        console.print("no allocation rules yet (outlay allocation rules --set FILE)")
        return
    if versions:
        for v in found:
            console.print(f"v{v['version']}  {v['created_at']}  {escape(v['created_by'])}")
        return
    print(f"# version {found[0]['version']}, {found[0]['created_at']} by {found[0]['created_by']}")
    print(yaml.safe_dump(found[0]["rules"], sort_keys=False, allow_unicode=True), end="")


def _checked(tenant: str) -> str:
    from outlay.tenancy import checked_tenant

    try:
        return checked_tenant(tenant)
    except ValueError as exc:
        err.print(f"[red]--tenant:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None


def _day(ts: datetime) -> datetime:
    utc = ts.astimezone(UTC) if ts.tzinfo else ts
    return datetime(utc.year, utc.month, utc.day)


def _next_month_start(ts: datetime) -> datetime:
    if ts.day == 1:
        return ts
    return datetime(ts.year + ts.month // 12, ts.month % 12 + 1, 1)


async def _report(tenant: str, by: str, start: datetime, end: datetime, grain: str) -> dict[str, Any]:
    from outlay.allocation.periods import ReportGrain
    from outlay.settings import get_settings
    from outlay.store.allocation import AllocationLinesStore, AllocationRulesStore, allocation_report
    from outlay.store.engine import make_engine, upgrade

    settings = get_settings()
    await upgrade(settings.store_url)  # a fresh store answers "no rules yet" rather than "no such table"
    engine = make_engine(settings.store_url)
    try:
        report = await allocation_report(
            AllocationRulesStore(engine, tenant), AllocationLinesStore(engine, tenant), by, start, end,
            ReportGrain(grain),
        )  # fmt: skip
        return report.to_json()
    finally:
        await engine.dispose()


async def _put(tenant: str, parsed: Any) -> int:
    from outlay.settings import get_settings
    from outlay.store.allocation import AllocationRulesStore
    from outlay.store.engine import make_engine, upgrade

    settings = get_settings()
    await upgrade(settings.store_url)
    engine = make_engine(settings.store_url)
    try:
        return (await AllocationRulesStore(engine, tenant).put(parsed, CLI_ACTOR)).version
    finally:
        await engine.dispose()


async def _versions(tenant: str, limit: int) -> list[dict[str, Any]]:
    from outlay.settings import get_settings
    from outlay.store.allocation import AllocationRulesStore, rules_json
    from outlay.store.engine import make_engine, upgrade

    settings = get_settings()
    await upgrade(settings.store_url)
    engine = make_engine(settings.store_url)
    try:
        found = await AllocationRulesStore(engine, tenant).versions(limit)
    finally:
        await engine.dispose()
    return [
        {
            "version": v.version,
            "rules": rules_json(v.rules),
            "created_by": v.created_by,
            "created_at": v.created_at.isoformat(),
        }  # fmt: skip
        for v in found
    ]
