"""The dashboard's scopes and roles (web/src/roles.ts) are the gateway's (services/gateway/permissions.py): the
browser disables a control by the same rules the API enforces, so a scope added on one side must be added on the
other. Read from the TypeScript source text: no Node needed."""

from __future__ import annotations

import re
from pathlib import Path

from services.gateway.permissions import READS, ROLES, Scope

ROLES_TS = Path(__file__).resolve().parents[2] / "web" / "src" / "roles.ts"


def _quoted(text: str) -> set[str]:
    return set(re.findall(r'"([a-z]+(?::[a-z]+)?)"', text))


def _block(source: str, start: str) -> str:
    at = source.index(start)
    return source[at : source.index(";", at)]


def test_every_scope_is_known_to_the_dashboard() -> None:
    source = ROLES_TS.read_text(encoding="utf-8")
    assert _quoted(_block(source, "export type Scope")) == {s.value for s in Scope}
    assert _quoted(_block(source, "export const ALL_SCOPES")) - {"READS"} == {s.value for s in Scope} - {
        s.value for s in READS
    }


def test_roles_grant_the_same_scopes() -> None:
    source = ROLES_TS.read_text(encoding="utf-8")
    reads = {s.value for s in READS}
    assert _quoted(_block(source, "const READS")) == reads
    table = _block(source, "export const ROLES")
    for role, scopes in ROLES.items():
        line = re.search(rf"^\s*{role}: (.*)$", table, re.MULTILINE)
        assert line is not None, f"role {role} missing from roles.ts"
        granted = _quoted(line.group(1)) | (
            reads if "...READS" in line.group(1) or line.group(1).startswith("READS") else set()
        )
        assert granted == {s.value for s in scopes}, role
