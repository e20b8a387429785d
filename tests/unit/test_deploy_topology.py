"""docker-compose.yml and deploy/k8s agree with the code: commands exist, env vars are real settings."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.main import get_command

from outlay.cli.main import app
from outlay.deploy.compose import problems as compose_problems
from outlay.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_ENV = {field.alias for field in Settings.model_fields.values() if field.alias}


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
    # The compose checks (commands, settings, ports, dependencies, images) live in outlay.deploy.compose.
    assert compose_problems() == []


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
