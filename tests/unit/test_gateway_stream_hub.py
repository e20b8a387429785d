"""The tick hub and tick folding, without a broker or a socket."""

from __future__ import annotations

from datetime import UTC, datetime

from outlay.events import LedgerProgress
from services.gateway.query import parse_group_by
from services.gateway.report import CostReport, CostRow
from services.gateway.stream import DROP_SIGNAL, CostTick, StreamHub, tick_query, ticks_from_report


def test_tick_query_is_bounded_to_the_last_hour_of_progress() -> None:
    event = LedgerProgress(
        written=1,
        duplicates=0,
        period_start=datetime(2024, 5, 1, tzinfo=UTC),
        period_end=datetime(2024, 5, 2, 0, 0, 30, tzinfo=UTC),
        cost_kinds=["billed"],
        committed_at=datetime.now(UTC),
    )
    q = tick_query([event])
    assert (q.range.start, q.range.end) == (datetime(2024, 5, 1, 23, 1), datetime(2024, 5, 2, 0, 1))
    assert q.filters.dimensions == {"cost_kind": ("billed",)}


def test_ticks_fold_services_and_filter_per_client() -> None:
    q = tick_query(
        [
            LedgerProgress(
                written=1,
                duplicates=0,
                period_start=datetime(2024, 5, 1, 10, tzinfo=UTC),
                period_end=datetime(2024, 5, 1, 10, 1, tzinfo=UTC),
                cost_kinds=["estimated"],
                committed_at=datetime.now(UTC),
            )
        ]
    )
    assert [k.label for k in q.group_by] == [k.label for k in parse_group_by(["service"])]
    minute = datetime(2024, 5, 1, 10)
    rows = [
        CostRow(minute, ("EC2", "USD", "estimated"), 2),
        CostRow(minute, ("S3", "USD", "estimated"), 3),
    ]
    (tick,) = ticks_from_report(CostReport(q, rows))
    assert tick == CostTick(minute, "estimated", "USD", {"EC2": 2, "S3": 3})
    assert tick.message(None)["cost"] == "0.000000005"  # type: ignore[index]
    assert tick.message(frozenset({"S3"}))["by_service"] == {"S3": "0.000000003"}  # type: ignore[index]
    assert tick.message(frozenset({"RDS"})) is None


def test_full_queue_drops_only_that_client() -> None:
    hub = StreamHub(queue_size=2)
    slow, fast = hub.register(), hub.register()
    tick = CostTick(datetime(2024, 5, 1), "billed", "USD", {"EC2": 1})
    for _ in range(3):
        hub.publish([tick])
        while not fast.queue.empty():
            fast.queue.get_nowait()
    assert slow.dropped and slow not in hub.clients
    assert slow.queue.get_nowait() is DROP_SIGNAL  # the sender closes the socket on this
    assert fast in hub.clients and not fast.dropped
    assert hub.ticks_sent == 2 + 3
