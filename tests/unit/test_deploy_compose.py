"""The compose validator: silent on the repository's docker-compose.yml, and each kind of mistake named."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from outlay.deploy import compose
from outlay.deploy.cli_args import cli_problem
from outlay.deploy.compose import docker_compose_config, host_port, image_problem, problems

ROOT = Path(__file__).resolve().parents[2]

Edit = Callable[[dict[str, Any]], None]


def broken_copy(tmp_path: Path, edit: Edit) -> Path:
    """A copy of the repository's deployment files in tmp_path, the compose file changed by `edit`."""
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    edit(data)
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    shutil.copy(ROOT / "Dockerfile", tmp_path / "Dockerfile")
    (tmp_path / "deploy").mkdir()
    shutil.copy(ROOT / "deploy" / "otel-collector.yaml", tmp_path / "deploy" / "otel-collector.yaml")
    return tmp_path


def test_the_repository_compose_file_has_no_problems() -> None:
    assert problems() == []


def test_an_unchanged_copy_has_no_problems(tmp_path: Path) -> None:
    assert problems(broken_copy(tmp_path, lambda data: None)) == []


def _set(service: str, key: str, value: Any) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["services"][service][key] = value

    return edit


def _env(service: str, name: str, value: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        data["services"][service]["environment"][name] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "service", "words"),
    [
        (_env("ledger", "OUTLAY_LEDGER_BATCH_SIZE", "10"), "ledger", ["OUTLAY_LEDGER_BATCH_SIZE", "no Outlay setting"]),
        (_set("anomaly", "command", ["services", "run", "anomalies"]), "anomaly", ["anomalies", "not one of"]),
        (_set("forecast", "command", ["forecast"]), "forecast", ["no command 'forecast'"]),
        (_set("migrate", "command", ["migrate", "--twice"]), "migrate", ["--twice"]),
        (_set("optimizer", "ports", ["8000:9000"]), "optimizer", ["host port 8000", "gateway"]),
        (_set("ledger", "depends_on", {"zookeeper": {"condition": "service_healthy"}}), "ledger", ["'zookeeper'"]),
        (_set("kafka", "image", "apache/kafka:latest"), "kafka", ["not pinned"]),
        (_set("postgres", "image", "postgres"), "postgres", ["no version tag"]),
        (_env("postgres", "POSTGRES_PASSWORD", "hunter2"), "postgres", ["POSTGRES_PASSWORD", "literal secret"]),
        (_env("gateway", "OUTLAY_API_KEY", "k" * 32), "gateway", ["OUTLAY_API_KEY", "literal secret"]),
        (_env("kafka", "ZOOKEEPER_CONNECT", "zk:2181"), "kafka", ["ZOOKEEPER_CONNECT", "does not document"]),
        (_set("gateway", "build", {"context": ".", "target": "api"}), "gateway", ["build target 'api'"]),
        (_set("migrate", "depends_on", {"ledger": {"condition": "service_done"}}), "migrate", ["service_done"]),
    ],
    ids=[
        "unknown-env",
        "unknown-service-name",
        "unknown-command",
        "unknown-option",
        "duplicate-port",
        "missing-depends-on-target",
        "latest-tag",
        "untagged-image",
        "literal-third-party-secret",
        "literal-outlay-secret",
        "undocumented-third-party-env",
        "unknown-build-target",
        "unknown-condition",
    ],
)
def test_each_mistake_is_named_with_its_service(tmp_path: Path, edit: Edit, service: str, words: list[str]) -> None:
    found = problems(broken_copy(tmp_path, edit))
    assert found, "the mistake went unnoticed"
    assert any(service in problem and all(word in problem for word in words) for problem in found), found


@pytest.mark.parametrize(
    "url",
    ["postgresql://outlay:hunter2@postgres:5432/outlay", "postgresql://outlay:${PW:-hunter2}@postgres:5432/outlay"],
    ids=["literal", "literal-fallback"],
)
def test_a_literal_database_password_is_refused(tmp_path: Path, url: str) -> None:
    found = problems(broken_copy(tmp_path, _env("ledger", "DATABASE_URL", url)))
    assert any(p.startswith("ledger: DATABASE_URL holds a literal password") for p in found), found
    assert not any("hunter2" in p for p in found), "a problem message must not repeat the secret"


def test_a_secret_with_a_literal_fallback_is_refused(tmp_path: Path) -> None:
    found = problems(broken_copy(tmp_path, _env("postgres", "POSTGRES_PASSWORD", "${POSTGRES_PASSWORD:-outlay}")))
    assert any(p.startswith("postgres: POSTGRES_PASSWORD is a literal secret") for p in found), found


def test_healthy_condition_needs_a_healthcheck(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        del data["services"]["postgres"]["healthcheck"]

    found = problems(broken_copy(tmp_path, edit))
    assert "migrate: waits for 'postgres' to be healthy, but 'postgres' has no healthcheck" in found


def test_collector_config_must_exist_parse_and_be_consistent(tmp_path: Path) -> None:
    root = broken_copy(tmp_path, lambda data: None)
    config = root / "deploy" / "otel-collector.yaml"
    config.write_text(config.read_text().replace("exporters: [debug]  # add otlp/jaeger here", "exporters: [jaeger]"))
    assert any("pipeline traces uses exporter 'jaeger', not defined" in p for p in problems(root))
    config.write_text("receivers: [unclosed")
    assert any("otel-collector.yaml: not YAML" in p for p in problems(root))
    config.unlink()
    assert any("otel-collector.yaml: no such file" in p for p in problems(root))


def test_missing_or_empty_compose_file(tmp_path: Path) -> None:
    assert problems(tmp_path) == ["docker-compose.yml: no such file"]
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    assert problems(tmp_path) == ["docker-compose.yml: no services"]


def test_commands_are_checked_by_the_cli_itself() -> None:
    assert cli_problem(["services", "run", "gateway"]) is None
    assert cli_problem(["services", "run", "generator", "--backfill-days", "30"]) is None
    assert cli_problem(["topics"]) is None and cli_problem(["migrate"]) is None
    assert "needs one of" in (cli_problem(["services"]) or "")


@pytest.mark.parametrize(
    ("port", "host"),
    [("8000:8000", "8000/tcp"), ("127.0.0.1:8000:80", "127.0.0.1:8000/tcp"), ("53:53/udp", "53/udp"), ("9000", None)],
)
def test_host_port_forms(port: str, host: str | None) -> None:
    assert host_port(port) == host
    assert host_port({"target": 80, "published": "8080"}) == "8080/tcp"


def test_image_pins() -> None:
    assert image_problem("postgres:15.10") is None
    assert image_problem("registry.local:5000/postgres") is not None  # a registry port is not a tag
    assert image_problem("postgres@sha256:" + "0" * 64) is None


def test_docker_compose_config_is_skipped_without_a_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose, "compose_client", lambda: None)
    assert docker_compose_config() == []


def test_docker_compose_config_reports_the_clients_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in client: fails the way `docker compose config` does, and shows the placeholder reached it.
    client = tmp_path / "compose"
    client.write_text(
        '#!/bin/sh\necho "service \\"x\\" refers to undefined volume y (key=$OUTLAY_API_KEY)" >&2\nexit 15\n'
    )
    client.chmod(0o755)
    monkeypatch.setattr(compose, "compose_client", lambda: [str(client)])
    monkeypatch.delenv("OUTLAY_API_KEY", raising=False)
    assert docker_compose_config() == [
        'docker compose config: service "x" refers to undefined volume y (key=placeholder-for-compose-config)'
    ]
