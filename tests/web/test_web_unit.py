"""The dashboard's front-end unit tests (Vitest, in web/), run from pytest so one suite covers both."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench.web import npm_installed

WEB = Path(__file__).resolve().parents[2] / "web"
TIMEOUT_S = 300


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=WEB, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


@pytest.mark.timeout(2 * TIMEOUT_S + 60)
def test_vitest_suite_passes() -> None:
    if shutil.which("npm") is None or shutil.which("npx") is None:
        pytest.skip("npm is not on PATH: install Node.js 20 and npm to run the web dashboard's unit tests")
    npm_installed(WEB)  # raises with npm's output when `npm ci` fails
    tests = _run("npx", "vitest", "run")
    assert tests.returncode == 0, f"vitest failed:\n{tests.stdout}\n{tests.stderr}"
