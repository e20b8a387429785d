"""`outlay ingest LOCATION [--tenant ID]`: stream a user's cost export into Kafka, every record stamped with the
tenant, with a progress bar and a summary."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from outlay.kafka.embedded_broker import platform_bootstrap
from outlay.kafka.producer import EventProducer
from outlay.kafka.topics_admin import ensure_outlay_topics
from outlay.process import tune_gc_for_streaming
from outlay.settings import get_settings
from outlay.store.engine import make_engine, upgrade
from outlay.store.tenants import TenantStore
from outlay.tenancy import DEFAULT_TENANT, checked_tenant
from services.ingest.locations import NoExportFiles
from services.ingest.pipeline import ingest
from services.ingest.report import FileStatus, IngestReport


def _summary(report: IngestReport, tenant_id: str) -> Table:
    tenant = "" if tenant_id == DEFAULT_TENANT else f" for tenant {tenant_id}"
    table = Table(title=f"ingested {report.location}{tenant}")
    for col in ("file", "format", "status", "accepted", "rejected", "billed cost"):
        table.add_column(col, justify="right" if col in ("accepted", "rejected") else "left")
    for f in report.files:
        cost = ", ".join(f"{amount:.2f} {cur}" for cur, amount in sorted(f.cost.items()))
        table.add_row(f.uri.rsplit("/", 1)[-1], f.format or "-", str(f.status), str(f.accepted), str(f.rejected), cost)
    return table


async def run_ingest(location: str, force: bool, console: Console, tenant_id: str = DEFAULT_TENANT) -> int:
    checked_tenant(tenant_id)
    tune_gc_for_streaming()
    settings = get_settings()
    bootstrap = platform_bootstrap(settings)
    if not bootstrap:
        console.print(
            "[red]No Kafka broker:[/] set KAFKA_BOOTSTRAP_SERVERS, or start the platform with `make run` "
            "(its embedded broker is found automatically)."
        )
        return 2
    await upgrade(settings.store_url)
    engine = make_engine(settings.store_url)
    if tenant_id != DEFAULT_TENANT and await TenantStore(engine).get(tenant_id) is None:
        await engine.dispose()  # a typo would file the costs where nobody can see them
        console.print(f"[red]--tenant: no tenant {tenant_id!r}[/] (the operator creates tenants: POST /v1/tenants)")
        return 2
    await ensure_outlay_topics(bootstrap, settings)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=True) as bar:
            tasks: dict[str, TaskID] = {}

            def on_progress(uri: str, rows_done: int) -> None:
                if uri not in tasks:
                    tasks[uri] = bar.add_task(uri.rsplit("/", 1)[-1], total=None)
                bar.update(tasks[uri], completed=rows_done)

            async with EventProducer(bootstrap, client_id="outlay-ingest") as producer:
                report = await ingest(
                    location, producer, engine, progress=on_progress, force=force, tenant_id=tenant_id
                )
    except NoExportFiles as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    finally:
        await engine.dispose()
    console.print(_summary(report, tenant_id))
    totals = report.totals
    console.print(f"{totals.accepted} rows accepted, {totals.rejected} rejected.")
    for (field, reason), count in totals.reasons.most_common():
        console.print(f"  rejected {count}× — {field or 'row'}: {reason}")
    for f in report.files:
        if f.status in (FileStatus.REFUSED, FileStatus.FAILED):
            console.print(f"[red]{f.status}[/] {f.uri}: {f.message}")
        elif f.status is FileStatus.SKIPPED:
            console.print(f"[dim]skipped {f.uri}: already ingested (use --force to re-send)[/]")
    return 0 if report.ingested_anything else 1
