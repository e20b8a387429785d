"""SIGTERM stops a service cleanly mid-stream: the ledger process, killed with SIGTERM while it consumes, stops
consuming, finishes and commits what it holds, and exits (code 0) well within a Kubernetes grace period; a
new process then carries on, and the store ends with every record exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from outlay.events import UsageRecord
from tests.integration.ledger_support import expected_nanos, row_count, store_totals, usage
from tests.integration.test_ledger_consumer import produce, wait_for

pytestmark = pytest.mark.e2e
GRACE_S = 30  # Kubernetes' default terminationGracePeriodSeconds


def ledger(broker: str, store_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        KAFKA_BOOTSTRAP_SERVERS=broker,
        DATABASE_URL=store_url,
        OUTLAY_LEDGER_GROUP="ledger-graceful",
        OUTLAY_LEDGER_BATCH="500",
        OUTLAY_STATE_DIR=str(log.parent),
    )
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "outlay.cli.main", "services", "run", "ledger"], env=env, stdout=out, stderr=out
        )


async def test_sigterm_mid_stream_loses_and_doubles_nothing(broker: str, store_url: str, tmp_path: Path) -> None:
    n = 30_000
    records: list[UsageRecord] = [usage(i) for i in range(n)]
    await produce(broker, records)
    log = tmp_path / "ledger.log"
    first = ledger(broker, store_url, log)
    try:
        await wait_for(lambda: _rows_at_least(store_url, 2_000), "the first batches written")
        first.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        code = first.wait(timeout=GRACE_S)
        stopped_within = time.monotonic() - stopping
    finally:
        if first.poll() is None:
            first.kill()
    written_then = await row_count(store_url)
    assert code == 0, log.read_text()[-2000:]
    assert stopped_within < GRACE_S / 2
    assert written_then < n, "the ledger had finished before the signal: nothing was stopped mid-stream"
    second = ledger(broker, store_url, log)
    try:
        await wait_for(lambda: _rows_at_least(store_url, n), f"all {n} rows")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=GRACE_S)
    totals = await store_totals(store_url)
    billed, effective, listed = expected_nanos(records)
    assert totals.rows == n
    assert totals.hour == totals.day == (billed, effective, listed, n)


async def _rows_at_least(url: str, n: int) -> bool:
    return await row_count(url) >= n
