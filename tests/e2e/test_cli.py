"""The `outlay` command as users run it: a real process against the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from outlay.kafka.embedded_broker import free_port
from outlay.kafka.topics_admin import ensure_topics
from outlay.store.engine import make_engine
from outlay.store.tenants import TenantStore
from tests.integration.ingest_support import focus_export, read_topic, write_csv

pytestmark = pytest.mark.e2e


async def outlay(*args: str, env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "outlay.cli.main",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    env.update(OUTLAY_STATE_DIR=str(tmp_path / "state"), COLUMNS="200", **extra)
    return env


async def test_ingest_reports_rejected_rows_and_sends_them_to_the_dlq(
    tmp_path: Path, broker: str, store_url: str
) -> None:
    export = focus_export(tmp_path / "bill.csv", 6, bad=(2, 4))
    env = cli_env(tmp_path, KAFKA_BOOTSTRAP_SERVERS=broker, DATABASE_URL=store_url)
    code, out = await outlay("ingest", str(export), env=env)
    assert code == 0, out
    assert "4 rows accepted, 2 rejected" in out
    assert "rejected 2× — BilledCost" in out
    dead = await read_topic(broker, "outlay.ingest.dlq.v1")
    assert sorted(d["row"] for d in dead) == [3, 5]  # 1-based data rows of the two bad lines
    assert {d["field"] for d in dead} == {"BilledCost"}
    code, out = await outlay("ingest", str(export), env=env)
    assert code == 0 and "already ingested" in out  # the checkpoint: not sent twice


async def test_ingest_for_a_tenant_stamps_every_record_and_refuses_a_bad_tenant(
    tmp_path: Path, broker: str, store_url: str
) -> None:
    export = focus_export(tmp_path / "bill.csv", 3)
    env = cli_env(tmp_path, KAFKA_BOOTSTRAP_SERVERS=broker, DATABASE_URL=store_url)
    code, out = await outlay("ingest", str(export), "--tenant", "Acme Corp", env=env)
    assert code == 2, out
    assert "--tenant" in out and "tenant id 'Acme Corp' must be 1-63 lowercase letters" in out
    code, out = await outlay("ingest", str(export), "--tenant", "acme", env=env)  # well formed, but no such tenant
    assert code == 2 and "--tenant: no tenant 'acme'" in out, out
    assert await read_topic(broker, "outlay.usage.v1") == []  # nothing sent

    engine = make_engine(store_url)
    try:
        await TenantStore(engine).create("acme", "Acme")
    finally:
        await engine.dispose()
    code, out = await outlay("ingest", str(export), "--tenant", "acme", env=env)
    assert code == 0 and "3 rows accepted" in out and "for tenant acme" in out, out
    code, out = await outlay("ingest", str(export), env=env)  # the default tenant: not skipped because of acme
    assert code == 0 and "3 rows accepted" in out, out
    code, out = await outlay("ingest", str(export), "--tenant", "acme", env=env)
    assert code == 0 and "already ingested" in out, out
    usage = await read_topic(broker, "outlay.usage.v1")
    assert sorted(m["tenant_id"] for m in usage) == ["acme"] * 3 + ["default"] * 3


async def test_ingest_refuses_a_file_that_is_not_a_cost_export(tmp_path: Path, broker: str, store_url: str) -> None:
    other = write_csv(tmp_path / "people.csv", [{"name": "ada", "team": "core"}], columns=("name", "team"))
    env = cli_env(tmp_path, KAFKA_BOOTSTRAP_SERVERS=broker, DATABASE_URL=store_url)
    code, out = await outlay("ingest", str(other), env=env)
    assert code == 1, out
    assert "not a cost export" in out and "missing columns" in out


async def test_ingest_without_a_broker_says_how_to_get_one(tmp_path: Path, store_url: str) -> None:
    export = focus_export(tmp_path / "bill.csv", 2)
    code, out = await outlay("ingest", str(export), env=cli_env(tmp_path, DATABASE_URL=store_url))
    assert code == 2
    assert "KAFKA_BOOTSTRAP_SERVERS" in out and "make run" in out


async def test_costs_prints_json_totals_by_service(tmp_path: Path, broker: str, store_url: str) -> None:
    from outlay.events import UsageRecord
    from outlay.store.engine import make_engine
    from services.ingest.ledger.writer import LedgerWriter
    from services.ingest.sources.detect import parse_export

    export = focus_export(tmp_path / "bill.csv", 10)
    engine = make_engine(store_url)
    records = [r for r in parse_export(export) if isinstance(r, UsageRecord)]
    await LedgerWriter(engine).write(records)
    await engine.dispose()
    env = cli_env(tmp_path, DATABASE_URL=store_url)
    code, out = await outlay(
        "costs", "--by", "service", "--start", "2024-09-01", "--end", "2024-09-02", "--format", "json", env=env
    )
    assert code == 0, out
    rows = json.loads(out)["rows"]
    by_service = {r["service"]: r["cost"] for r in rows}
    # rows i = 0..9 cost (i+1)/100; even i are EC2, odd are S3
    assert by_service == {"Amazon Elastic Compute Cloud": "0.250000000", "Amazon Simple Storage Service": "0.300000000"}


async def _wait_for_costs(url: str, key_file: Path, timeout: float) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            try:
                assert (await client.get(url)).status_code == 401  # the platform is never open without the key
                response = await client.get(url, headers={"Authorization": f"Bearer {key_file.read_text()}"})
                if response.status_code == 200 and response.json()["rows"]:
                    return dict(response.json())
            except (httpx.TransportError, FileNotFoundError):
                pass  # not listening yet
            assert asyncio.get_running_loop().time() < deadline, "the platform never served costs"
            await asyncio.sleep(0.25)


async def test_run_starts_everything_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    """`outlay run` (what `make run` starts): broker, store, services; backfill; the API; a clean Ctrl-C."""
    port = free_port()
    env = cli_env(tmp_path, OUTLAY_API_PORT=str(port))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "outlay.cli.main",
        "run",
        "--backfill-days",
        "1",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        key_file = tmp_path / "state" / "api-key"
        url = f"http://127.0.0.1:{port}/v1/costs?granularity=hour&group_by=service"
        body = await _wait_for_costs(url, key_file, 120)
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        assert body["cost_kind"] == "estimated" and body["total"] != "0.000000000"
        address = (tmp_path / "state" / "broker.address").read_text()
        await ensure_topics(address)  # the embedded broker is up and reachable for `outlay ingest`
        export = focus_export(tmp_path / "mine.csv", 3)
        code, out = await outlay("ingest", str(export), env=cli_env(tmp_path))
        assert code == 0 and "3 rows accepted" in out, out
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode()
    assert proc.returncode == 0, text
    assert "stopped." in text
    assert not (tmp_path / "state" / "broker.address").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    assert any((tmp_path / "state" / "logs").glob("*.log"))


async def test_run_fails_loudly_when_a_service_cannot_start(tmp_path: Path) -> None:
    """The API port is taken: the gateway exits, `outlay run` says so, stops the rest and exits non-zero."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = cli_env(tmp_path, OUTLAY_API_PORT=str(port))
        code, out = await outlay("run", "--backfill-days", "1", env=env, timeout=120)
    assert code == 1, out
    assert "gateway exited" in out and "stopped." in out
    assert "Outlay is running" not in out


async def test_costs_bad_options_name_the_option_without_a_traceback(tmp_path: Path, store_url: str) -> None:
    env = cli_env(tmp_path, DATABASE_URL=store_url)
    code, out = await outlay("costs", "--by", "team", env=env)
    assert code == 2 and "--by: unknown dimension 'team'" in out.replace("\n", " ")
    assert "Traceback" not in out
    code, out = await outlay("costs", "--granularity", "week", env=env)
    assert code == 2 and "Traceback" not in out
