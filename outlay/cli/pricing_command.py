"""`outlay pricing sync` and `outlay pricing show`: refresh the price catalogue from the AWS Price List API into the
store, and look a price up in the catalogue the services use (bundled, with synced prices laid over it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from outlay.pricing.catalogue import UnknownPrice
from outlay.pricing.sync import fetch_prices, pricing_client
from outlay.settings import Settings
from outlay.store.engine import make_engine, upgrade
from outlay.store.prices import SyncedPriceStore, load_catalogue


async def run_sync(settings: Settings, services: Sequence[str], regions: Sequence[str], console: Console) -> int:
    await upgrade(settings.store_url)
    client = pricing_client(settings.aws_endpoint_url)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as progress:
        task = progress.add_task("asking the Price List API…", total=None)
        seen = {"products": 0}

        def on_page(service: str, region: str, products: int) -> None:
            seen["products"] += products
            progress.update(task, description=f"{service} {region}: {seen['products']:,} products read")

        result = fetch_prices(client, services, regions, on_page)
    engine = make_engine(settings.store_url)
    try:
        written = await SyncedPriceStore(engine).save(result.prices, datetime.now(UTC))
    finally:
        await engine.dispose()
    console.print(f"{written:,} prices stored from {result.products:,} products ({', '.join(services)}; "
                  f"{', '.join(regions)})")  # fmt: skip
    if result.skipped:
        table = Table("products not kept", "why", title=None)
        for reason, count in sorted(result.skipped.items(), key=lambda kv: -kv[1])[:10]:
            table.add_row(f"{count:,}", reason)
        console.print(table)
    return 0 if written else 1


async def run_show(
    settings: Settings, instance_type: str, region: str, engine_name: str | None, console: Console
) -> int:
    engine = make_engine(settings.store_url)
    try:
        await upgrade(settings.store_url)
        catalogue = await load_catalogue(engine)
        last = await SyncedPriceStore(engine).last_synced()
    finally:
        await engine.dispose()
    try:
        if engine_name is not None:
            hourly = catalogue.rds_hourly(instance_type, engine_name, region)
            console.print(f"RDS {instance_type} {engine_name} in {region}: ${hourly}/hour (Single-AZ, on demand)")
        else:
            price = catalogue.ec2_price(instance_type, region)
            estimated = " (estimated from us-east-1 with the region's factor)" if price.basis == "region-factor" else ""
            console.print(f"EC2 {instance_type} in {region}: ${price.amount}/hour (Linux, on demand){estimated}")
    except UnknownPrice as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    console.print("synced prices: " + (f"last sync {last:%Y-%m-%d %H:%M} UTC" if last else "none (bundled catalogue)"))
    return 0
