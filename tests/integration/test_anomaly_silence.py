"""A live cost that stops entirely is alerted as a drop while it is news, through the real worker and broker: the
worker's split stage sends zeros for a live series its tenant's stream has left behind (`series/silence.py`),
without waiting for the series to spend again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from outlay.events import AnomalyDirection, UsageRecord
from outlay.spread import Grain, floor_to
from tests.integration.test_anomaly_worker import anomalies, anomaly_worker, send
from tests.unit.test_anomaly_series import MINUTE, T0, steady

pytestmark = pytest.mark.e2e
EC2 = "minute|billing_account_id=111122223333|service=AmazonEC2"
HISTORY = 360  # minutes of steady usage before now: the detector's warm-up and then some
STOPS = 30  # EC2 stops this many minutes before now; RDS goes on


def live(records: list[UsageRecord], now: datetime) -> list[UsageRecord]:
    """The steady lines moved so that minute HISTORY is now: live usage, as the generator or metering sends it."""
    shift = floor_to(now, Grain.MINUTE) - (T0 + HISTORY * MINUTE)
    return [r.model_copy(update={"charge_period_start": r.charge_period_start + shift,
                                 "charge_period_end": r.charge_period_end + shift}) for r in records]  # fmt: skip


async def test_a_live_cost_that_stops_is_alerted_as_a_drop_without_new_data(broker: str, tmp_path: Path) -> None:
    lines = [
        r
        for r in steady(range(HISTORY))
        if r.service != "AmazonEC2" or r.charge_period_start < T0 + (HISTORY - STOPS) * MINUTE
    ]
    now = datetime.now(UTC)
    with anomaly_worker(broker, tmp_path / "anomaly.log"):
        await send(broker, sorted(live(lines, now), key=lambda r: r.charge_period_start))
        found = await anomalies(broker, lambda seen: any(a.series == EC2 and a.alerted for a in seen))
    drop = next(a for a in found if a.series == EC2 and a.alerted)
    assert drop.direction is AnomalyDirection.DROP
    stopped_at = floor_to(now, Grain.MINUTE) - STOPS * MINUTE
    assert stopped_at <= drop.start <= stopped_at + 2 * MINUTE, (drop.start, stopped_at)
    assert drop.actual_cost == 0
