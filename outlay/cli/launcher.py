"""`outlay run` / `make run`: the whole platform on one machine, each service in its own process.

Starts the embedded broker (unless KAFKA_BOOTSTRAP_SERVERS is set), migrates the store, creates the
topics, then supervises one child process per service. Ctrl-C (or SIGTERM) stops the children first,
then the broker.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from outlay.kafka.embedded_broker import BROKER_ADDRESS_FILE, EmbeddedBroker, free_port, publish_address
from outlay.kafka.topics_admin import ensure_outlay_topics
from outlay.settings import Settings
from outlay.store.engine import upgrade

console = Console(stderr=True)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    args: tuple[str, ...]


def default_services(backfill_days: int, live_source: str) -> list[ServiceSpec]:
    return [
        ServiceSpec("ledger", ()),
        ServiceSpec("gateway", ()),
        ServiceSpec("anomaly", ()),
        ServiceSpec("forecast", ()),
        ServiceSpec("optimizer", ()),
        ServiceSpec("metrics", ()),  # business figures for unit economics
        ServiceSpec(live_source, ("--backfill-days", str(backfill_days))),
        # Usage with its allocation, on outlay.usage.allocated.v1. Last: each process's metrics port is the base plus
        # its index here, and the earlier services keep theirs.
        ServiceSpec("allocation", ()),
    ]


def _spawn(spec: ServiceSpec, env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log = open(log_dir / f"{spec.name}.log", "ab")  # noqa: SIM115 - the child owns it for its lifetime
    return subprocess.Popen(
        [sys.executable, "-m", "outlay.cli.main", "services", "run", spec.name, *spec.args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
    )


def _stop(procs: dict[str, subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            console.print(f"[yellow]{name} did not stop in time; killing it[/]")
            proc.kill()
            proc.wait()


API_KEY_FILE = "api-key"


def local_api_key(state_dir: Path) -> str:
    """The gateway key for this machine: generated once, kept owner-readable in the state directory."""
    path = state_dir / API_KEY_FILE
    if path.is_file():
        return path.read_text().strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _wait_until_serving(
    settings: Settings, procs: dict[str, subprocess.Popen[bytes]], stopping: Callable[[], bool], timeout: float = 90
) -> bool:
    """True once the gateway answers /healthz; False if a service exits, Ctrl-C comes, or time runs out."""
    url = f"http://{settings.api_host}:{settings.api_port}/healthz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping():
        if any(p.poll() is not None for p in procs.values()):
            return False
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)  # start-up poll; nothing to wait on but the socket
    return False


def run_platform(settings: Settings, backfill_days: int = 30, live_source: str = "generator") -> int:
    log_dir = settings.state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    broker: EmbeddedBroker | None = None
    env = dict(os.environ)
    bootstrap = settings.kafka_bootstrap_servers
    if not bootstrap:
        broker = EmbeddedBroker(log_path=log_dir / "broker.log").start()
        bootstrap = broker.bootstrap_servers
        publish_address(settings.state_dir, bootstrap)
        console.print(f"embedded Kafka-compatible broker on {bootstrap}")
    env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    env.setdefault("OUTLAY_STATE_DIR", str(settings.state_dir))
    if "OUTLAY_FORECAST_GRPC_PORT" not in os.environ:  # a free one, so a second platform on this machine can run
        env["OUTLAY_FORECAST_GRPC_PORT"] = str(free_port())
    if settings.api_key is None:
        env["OUTLAY_API_KEY"] = local_api_key(settings.state_dir)
        key_note = f"API key in {settings.state_dir / API_KEY_FILE} (send it as 'Authorization: Bearer <key>')"
    else:
        key_note = "API key from OUTLAY_API_KEY"
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False
    crashed: list[str] = []  # services that exited on their own: the run failed

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        asyncio.run(upgrade(settings.store_url))
        asyncio.run(ensure_outlay_topics(bootstrap, settings))
        console.print(f"store: {settings.redacted()['database_url'] or settings.store_url}")
        metrics_base = settings.metrics_port
        for index, spec in enumerate(default_services(backfill_days, live_source)):
            child_env = dict(env)
            if metrics_base is not None and spec.name != "gateway":  # the gateway serves /metrics itself
                child_env["OUTLAY_METRICS_PORT"] = str(metrics_base + index)  # one port per process
            procs[spec.name] = _spawn(spec, child_env, log_dir)
        api = f"http://{settings.api_host}:{settings.api_port}"
        if not _wait_until_serving(settings, procs, lambda: stopping):
            crashed.extend(n for n, p in procs.items() if p.poll() is not None)
            for name in crashed:
                console.print(f"[red]{name} exited with {procs[name].returncode}; see {log_dir}/{name}.log[/]")
            if not crashed and not stopping:
                console.print(f"[red]the gateway did not answer on {api} in time; see {log_dir}/gateway.log[/]")
            return 0 if stopping and not crashed else 1
        console.print(
            f"[bold green]Outlay is running.[/] API: {api}/v1/costs  docs: {api}/docs  "
            f"stream: ws://{settings.api_host}:{settings.api_port}/v1/stream\n"
            f"{key_note}\n"
            f"logs in {log_dir}/; backfilling {backfill_days} days, then streaming live. Ctrl-C stops everything."
        )
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    console.print(f"[red]{name} exited with {proc.returncode}; see {log_dir}/{name}.log[/]")
                    crashed.append(name)
                    stopping = True
            time.sleep(0.5)  # supervision tick: nothing to wait on but child exits and signals
    finally:
        console.print("stopping services…")
        _stop(procs)
        if broker:
            broker.stop()
            (settings.state_dir / BROKER_ADDRESS_FILE).unlink(missing_ok=True)
        console.print("stopped.")
    return 1 if crashed else 0
