"""The GitHub Action and the GitLab CI template run estimate → diff → gate → comment: their scripts are run here
with bash against a local plan and a local HTTP server playing the platform's API, and every `outlay` option they
use must be an option of that command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
import yaml

from outlay.cli.main import app
from tests.unit.iac.test_comment import FakePlatform, _serve

ROOT = Path(__file__).resolve().parents[3]
ACTION, GITLAB = ROOT / "action.yml", ROOT / "ci/gitlab/outlay-cost.gitlab-ci.yml"
BIN = str(Path(sys.executable).parent)


def scripts() -> dict[str, str]:
    action = yaml.safe_load(ACTION.read_text())
    gitlab = yaml.safe_load(GITLAB.read_text())
    return {"github": action["runs"]["steps"][-1]["run"], "gitlab": gitlab["outlay-cost"]["script"][-1]}


def test_every_outlay_option_the_templates_use_exists() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    used = 0
    for name, script in scripts().items():
        for line in script.splitlines():
            match = re.search(r"\boutlay (estimate|diff|gate|comment)\b(.*)", line)
            if not match:
                continue
            known = {opt for param in commands[match.group(1)].params for opt in param.opts}
            for option in re.findall(r"(--[a-z-]+)", match.group(2)):
                used += 1
                assert option in known, f"{name}: outlay {match.group(1)} has no {option}"
    assert used >= 15


@pytest.fixture
def plans(tmp_path: Path) -> Iterator[tuple[Path, Path, Path]]:
    def plan(name: str, instance_type: str) -> Path:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"planned_values": {"root_module": {"resources": [
            {"address": "aws_instance.web", "mode": "managed", "type": "aws_instance",
             "values": {"instance_type": instance_type, "availability_zone": "us-east-1a"}}]}}}))  # fmt: skip
        return path

    policy = tmp_path / "policy.yml"
    policy.write_text("max_monthly_increase: 20\n")
    yield plan("base plan", "t3.micro"), plan("head plan", "m5.large"), policy  # (spaces: quoting)


def test_the_github_action_script_gates_and_comments(plans: tuple[Path, Path, Path], tmp_path: Path) -> None:
    base, head, policy = plans
    for platform, url in _serve(FakePlatform("Authorization", "Bearer gh-token", "/repos/acme/shop/issues/3/comments")):
        summary = tmp_path / "summary.md"
        env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "HEAD_PATH": str(head), "BASE_PATH": str(base),
               "POLICY": str(policy), "USAGE_FILE": "", "REGION": "", "COMMENT": "true", "PR_NUMBER": "3",
               "GITHUB_TOKEN": "gh-token", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": url,
               "GITHUB_STEP_SUMMARY": str(summary)}  # fmt: skip
        run = subprocess.run(
            ["bash", "-c", scripts()["github"]], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 1, run.stderr  # m5.large adds $62.49 a month: over the policy's $20
        assert "Monthly cost will increase by $62.49" in summary.read_text()
        assert (
            (tmp_path / "outlay-estimate.md").read_text().startswith("### Monthly cost estimate: **$70.88**")
        )  # with its 8 GB root volume
        assert "FAIL max_monthly_increase" in platform.comments[-1]["body"]


def test_the_gitlab_template_script_gates_and_comments(plans: tuple[Path, Path, Path], tmp_path: Path) -> None:
    base, head, policy = plans
    for platform, url in _serve(
        FakePlatform("PRIVATE-TOKEN", "gl-token", "/api/v4/projects/42/merge_requests/5/notes")
    ):
        env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "OUTLAY_HEAD": str(head), "OUTLAY_BASE": str(base),
               "OUTLAY_POLICY": str(policy), "OUTLAY_USAGE_FILE": "", "OUTLAY_REGION": "", "GITLAB_TOKEN": "gl-token",
               "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "5", "CI_API_V4_URL": f"{url}/api/v4"}  # fmt: skip
        run = subprocess.run(
            ["sh", "-c", scripts()["gitlab"]], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 1, run.stderr
        assert "Monthly cost will increase" in (tmp_path / "outlay-diff.md").read_text()
        assert "FAIL max_monthly_increase" in platform.comments[-1]["body"]
