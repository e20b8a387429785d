"""The VS Code extension's tests (Vitest, in ide/vscode/: unit tests against a fake of the `vscode` API, and
integration tests against the real `outlay` CLI on ../shared/data), its strict type check, and its packaging
into a .vsix, run from pytest so one suite covers them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.web import npm_installed

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "ide" / "vscode"
TIMEOUT_S = 600


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    # The integration tests run this interpreter's outlay (the one pytest runs in) unless OUTLAY_CLI says otherwise.
    cli = Path(sys.executable).with_name("outlay")
    env = {**os.environ, **({"OUTLAY_CLI": str(cli)} if cli.exists() and "OUTLAY_CLI" not in os.environ else {})}
    return subprocess.run(
        command, cwd=EXTENSION, capture_output=True, text=True, timeout=TIMEOUT_S, check=False, env=env
    )


def _npm() -> None:
    if shutil.which("npm") is None or shutil.which("npx") is None:
        pytest.skip("npm is not on PATH: install Node.js 20 and npm to run the VS Code extension's tests")
    npm_installed(EXTENSION)  # raises with npm's output when `npm ci` fails


# One test, not two: checks and packaging share one npm tree, and two workers running npm in it at once broke it.
@pytest.mark.timeout(5 * TIMEOUT_S + 60)
def test_extension_typechecks_lints_passes_its_tests_and_packages_as_a_vsix() -> None:
    _npm()
    typecheck = _run("npx", "tsc", "-p", "tsconfig.json", "--noEmit")
    assert typecheck.returncode == 0, f"tsc --noEmit (strict) failed:\n{typecheck.stdout}\n{typecheck.stderr}"
    lint = _run("npx", "eslint", "src", "test")
    assert lint.returncode == 0, f"eslint failed:\n{lint.stdout}\n{lint.stderr}"
    tests = _run("npx", "vitest", "run")
    assert tests.returncode == 0, f"vitest failed:\n{tests.stdout}\n{tests.stderr}"
    vsix = EXTENSION / "outlay-vscode.vsix"
    vsix.unlink(missing_ok=True)
    packaged = _run("npx", "vsce", "package", "--skip-license", "--out", vsix.name)
    assert packaged.returncode == 0, f"vsce package failed:\n{packaged.stdout}\n{packaged.stderr}"
    assert vsix.is_file() and vsix.stat().st_size > 10_000, f"no .vsix at {vsix}"
