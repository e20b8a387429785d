"""docker-compose.yml and deploy/k8s agree with the code: commands exist, env vars are real settings."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.main import get_command

from outlay.cli.main import app
from outlay.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_ENV = {field.alias for field in Settings.model_fields.values() if field.alias}
OTHER_ENV = {"PYTHONUNBUFFERED"}


def _cli_paths() -> set[tuple[str, ...]]:
    root = get_command(app)
    paths: set[tuple[str, ...]] = set()
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        paths.add((name,))
        for sub in getattr(cmd, "commands", {}):
            paths.add((name, sub))
    return paths


def _assert_command(args: list[str]) -> None:
    paths = _cli_paths()
    assert tuple(args[:1]) in paths or tuple(args[:2]) in paths, f"`outlay {' '.join(args)}` is not a command"


def test_compose_services_run_real_commands_with_real_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    outlay_services = {n: s for n, s in compose["services"].items() if "build" in s}
    assert {"ledger", "anomaly", "forecast", "optimizer", "gateway", "migrate", "topics", "generator"} <= set(
        outlay_services
    )
    for name, service in outlay_services.items():
        _assert_command(service["command"])
        env = service["environment"]
        unknown = set(env) - SETTINGS_ENV - OTHER_ENV
        assert not unknown, f"{name}: environment variables no setting reads: {unknown}"
    ports = [p for s in compose["services"].values() for p in s.get("ports", [])]
    assert len(ports) == len(set(ports))


def test_k8s_base_runs_real_commands_with_real_settings() -> None:
    base = ROOT / "deploy" / "k8s" / "base"
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text())
    seen = 0
    for resource in kustomization["resources"]:
        for doc in yaml.safe_load_all((base / resource).read_text()):
            spec = doc.get("spec", {})
            pod = spec.get("template", {}).get("spec", {})
            for container in pod.get("containers", []):
                seen += 1
                _assert_command(container["args"])
                names = {e["name"] for e in container.get("env", [])}
                assert names <= SETTINGS_ENV, names - SETTINGS_ENV
    config = yaml.safe_load((base / "configmap.yaml").read_text())
    assert set(config["data"]) <= SETTINGS_ENV
    assert seen >= 3


def test_dockerfile_runs_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "USER outlay" in text and 'ENTRYPOINT ["outlay"]' in text
