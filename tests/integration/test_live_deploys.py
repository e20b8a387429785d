"""The generator's deploys reach the deployments store, as a CD pipeline's reports would: at backfill for the history,
then minute by minute; re-reporting after a restart changes nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta

from outlay.cli.service_runner import deploy_recorder
from outlay.kafka.producer import EventProducer
from outlay.scopes import parse_scope
from outlay.store.deployments import DeploymentStore
from outlay.store.engine import make_engine
from services.ingest.live.generator import DeployLabel, deploys
from services.ingest.live.profiles import demo_company
from services.ingest.live.runner import LiveStats, run_live

NOW = datetime(2026, 6, 5, 15, 0, 30, tzinfo=UTC)  # a Friday afternoon: the week's deploys are behind it


def test_deploys_are_weekday_business_hours_steps_of_known_series() -> None:
    profile = demo_company(seed=3)
    start = NOW - timedelta(days=14)
    found = deploys(profile, start, NOW)
    assert found == deploys(profile, start, NOW)  # deterministic
    assert found == sorted(found, key=lambda d: (d.at, d.series_id)) and len(found) >= 5
    series = {s.series_id: s for s in profile.series()}
    for deploy in found:
        assert start <= deploy.at < NOW and deploy.at.weekday() < 5
        assert 10 <= (deploy.at + timedelta(hours=profile.utc_offset_hours)).hour < 17  # the company's business hours
        assert series[deploy.series_id].spec.name == deploy.workload
        assert parse_scope(deploy.scope) == {"tag:workload": deploy.workload}
        assert 0.75 <= deploy.level <= 1.3
    assert {d.at for d in deploys(profile, start, start + timedelta(days=7))} < {d.at for d in found}


async def test_the_generator_reports_its_deploys_to_the_store(broker: str, store_url: str) -> None:
    full = demo_company(seed=3)
    profile = dataclasses.replace(full, services=full.services[:2])
    reported: list[DeployLabel] = []
    engine = make_engine(store_url)
    record = deploy_recorder(engine, "default")

    async def on_deploys(found: list[DeployLabel]) -> None:
        reported.extend(found)
        await record(found)

    stop = asyncio.Event()
    stats = LiveStats()
    try:
        async with EventProducer(broker) as producer:
            task = asyncio.create_task(
                run_live(producer, "generator", stop, backfill_days=7, clock=lambda: NOW, speedup=600.0,
                         profile=profile, stats=stats, on_deploys=on_deploys)
            )  # fmt: skip
            deadline = time.monotonic() + 60
            while stats.minutes < 2:  # backfill done and two live minutes streamed
                assert time.monotonic() < deadline, "the generator did not stream two live minutes"
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(task, timeout=30)
        history = deploys(profile, NOW.replace(second=0) - timedelta(days=7), NOW.replace(second=0))
        assert history and reported[: len(history)] == history
        stored, _ = await DeploymentStore(engine).page(500)
        assert sorted((d.scope, d.version) for d in stored) == sorted({(d.scope, d.version) for d in reported})
        assert all(d.reported_by == "generator (demo company)" for d in stored)
        await record(history)  # a restart reports the history again: nothing doubles
        again, _ = await DeploymentStore(engine).page(500)
        assert len(again) == len(stored)
    finally:
        await engine.dispose()
