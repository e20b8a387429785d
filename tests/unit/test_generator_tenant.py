"""Live sources stamp their tenant (`OUTLAY_TENANT`): the demo generator and live metering, records and samples,
with ids that do not depend on it; the generator's restart state is kept per tenant."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from outlay.aws.resources import Ec2Instance, MetricQuery, Resource
from outlay.events import UsageRecord, UtilizationSample
from outlay.pricing import PriceCatalogue
from outlay.settings import Settings
from services.ingest.live import coverage
from services.ingest.live.generator import generate
from services.ingest.live.metering import meter_pass, price_minute
from services.ingest.live.profiles import demo_company
from services.ingest.live.runner import LiveStats, run_live

START = datetime(2026, 6, 1, tzinfo=UTC)
MINUTE = datetime(2026, 7, 14, 9, 30, tzinfo=UTC)
CATALOGUE = PriceCatalogue.load()


class Sink:
    """Stands in for the producer: keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[BaseModel] = []

    async def send_many(self, events: Iterable[BaseModel]) -> int:
        batch = list(events)
        self.events.extend(batch)
        return len(batch)


class OneInstance:
    """An inventory of one running instance at 40% CPU."""

    regions: Sequence[str] = ("us-east-1",)

    def discover(self, region: str) -> list[Resource]:
        return [Ec2Instance("i-0abc", "m5.large", region, "123456789012", "running", {"team": "web"})]

    def metric_values(
        self, region: str, queries: Sequence[MetricQuery], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, float]]]:
        return {q.id: [(start, 40.0)] for q in queries}


def _without_tenant(records: Iterable[BaseModel]) -> list[BaseModel]:
    return [r.model_copy(update={"tenant_id": "default"}) for r in records]


def test_generated_records_carry_the_tenant_and_keep_their_ids() -> None:
    profile = demo_company(seed=7)
    default = list(generate(profile, START, START + timedelta(minutes=3)))
    acme = list(generate(profile, START, START + timedelta(minutes=3), tenant_id="acme"))
    assert {r.tenant_id for r in default} == {"default"} and {r.tenant_id for r in acme} == {"acme"}
    assert _without_tenant(acme) == default  # the same company, ids included: ids are unique within a tenant
    with pytest.raises(ValueError, match="tenant id 'Acme'"):
        next(generate(profile, START, START + timedelta(minutes=3), tenant_id="Acme"))


def test_the_generators_restart_state_is_per_tenant(tmp_path: Path) -> None:
    assert coverage.state_file(tmp_path, 11).name == "generator-11.anchor"  # as before tenants
    assert coverage.state_file(tmp_path, 11, "acme").name == "generator-acme-11.anchor"
    with pytest.raises(ValueError, match="tenant id"):
        coverage.state_file(tmp_path, 11, "../x")


def test_metered_records_and_samples_carry_the_tenant() -> None:
    default = meter_pass(OneInstance(), CATALOGUE, MINUTE)
    acme = meter_pass(OneInstance(), CATALOGUE, MINUTE, tenant_id="acme")
    assert len(acme.records) == 1 and len(acme.samples) >= 1
    assert {r.tenant_id for r in [*acme.records, *acme.samples]} == {"acme"}
    assert {r.tenant_id for r in [*default.records, *default.samples]} == {"default"}
    assert _without_tenant(acme.records) == default.records and _without_tenant(acme.samples) == default.samples
    (record,) = price_minute(OneInstance().discover("us-east-1"), MINUTE, CATALOGUE, tenant_id="acme").records
    assert record == acme.records[0]


@pytest.mark.parametrize("source", ["generator", "metering"])
async def test_run_live_stamps_its_tenant_on_everything_it_sends(source: str, tmp_path: Path) -> None:
    full = demo_company(seed=3)
    profile = dataclasses.replace(full, services=full.services[:1])
    sink, stop, stats = Sink(), asyncio.Event(), LiveStats()
    task = asyncio.create_task(
        run_live(
            sink, source, stop, backfill_days=1, clock=lambda: START + timedelta(seconds=30), speedup=6000.0,  # type: ignore[arg-type]
            profile=profile, inventory=OneInstance(), catalogue=CATALOGUE, stats=stats, state_dir=tmp_path,
            tenant_id="acme",
        )
    )  # fmt: skip
    async with asyncio.timeout(30):
        while stats.minutes < 3:
            await asyncio.sleep(0.01)
    stop.set()
    await task
    stamped = [e for e in sink.events if isinstance(e, UsageRecord | UtilizationSample)]
    assert len(stamped) > 3 and {e.tenant_id for e in stamped} == {"acme"}
    anchors = sorted(p.name for p in tmp_path.iterdir())
    assert anchors == (["generator-acme-3.anchor"] if source == "generator" else [])
    with pytest.raises(ValueError, match="tenant id"):
        await run_live(sink, source, stop, tenant_id="Acme")  # type: ignore[arg-type]


def test_the_live_tenant_setting_is_checked_and_names_its_variable() -> None:
    assert Settings().live_tenant == "default" and Settings(OUTLAY_TENANT="acme").live_tenant == "acme"
    with pytest.raises(ValueError, match="OUTLAY_TENANT: tenant id 'Acme' must be"):
        Settings(OUTLAY_TENANT="Acme")
