"""Price rules: see spec.py for the vocabulary and ec2.py for the shape (filled in by the session that owns it)."""

from __future__ import annotations

from outlay.iac.rules.spec import Free, ResourceRule

RULES: list[ResourceRule | Free] = []
