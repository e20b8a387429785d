"""The `anomalies` table adapter on both store dialects: latest state wins, replays cannot regress it,
verdicts are kept, and pages follow the keyset cursor."""

from __future__ import annotations

from datetime import UTC, datetime

from outlay.events import FeedbackVerdict, Severity
from outlay.store.engine import make_engine
from services.gateway.anomalies.listing import parse_anomaly_query
from services.gateway.anomalies.store import AnomalyStore
from tests.integration.test_gateway_anomalies import EC2, TOTAL, incident


async def test_upserts_pages_and_verdicts(dialect_url: str) -> None:
    engine = make_engine(dialect_url)
    store = AnomalyStore(engine)
    try:
        opened, closed = incident(EC2, 0, 3), incident(EC2, 0, 10, closed=True, impact="40")
        others = [incident(TOTAL, m, m + 1, severity=Severity.LOW, alerted=False) for m in (20, 30, 40)]
        await store.upsert([opened, closed, *others])  # one batch may hold several updates of one incident
        await store.upsert([opened])  # a replay of an older state
        current = await store.get(closed.anomaly_id)
        assert current is not None and current.anomaly.end == closed.end.replace(tzinfo=None)  # type: ignore[union-attr]
        assert str(current.anomaly.impact) == "40.000000000"

        given = datetime(2026, 11, 2, tzinfo=UTC)
        judged = await store.record_feedback(closed.anomaly_id, FeedbackVerdict.FALSE_POSITIVE, given)
        assert judged is not None and judged.anomaly.feedback is FeedbackVerdict.FALSE_POSITIVE
        await store.upsert([incident(EC2, 0, 12, closed=True, feedback=FeedbackVerdict.TRUE_POSITIVE)])
        kept = await store.get(closed.anomaly_id)
        assert kept is not None and kept.anomaly.feedback is FeedbackVerdict.FALSE_POSITIVE  # the person's verdict
        assert kept.anomaly.last_seen.minute == 12  # while the rest of the state moved on
        assert await store.record_feedback("missing", FeedbackVerdict.PLANNED, given) is None

        pages, cursor = [], None
        while True:
            page = await store.page(parse_anomaly_query(limit="2", cursor=cursor))
            pages.append([item.anomaly.anomaly_id for item in page.items])
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert pages == [[others[2].anomaly_id, others[1].anomaly_id], [others[0].anomaly_id, closed.anomaly_id]]
        unalerted = await store.page(parse_anomaly_query(alerted="false", status="open", min_severity="low"))
        assert [i.anomaly.anomaly_id for i in unalerted.items] == [o.anomaly_id for o in reversed(others)]
    finally:
        await engine.dispose()
