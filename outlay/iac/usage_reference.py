"""The usage file's keys, per resource type, as Markdown: written from the price rules themselves, so the
reference (docs/iac-usage.md) cannot drift from what the estimator reads. Regenerate with
`python -m outlay.iac.usage_reference > docs/iac-usage.md` (a test checks it is current)."""

from __future__ import annotations

from outlay.iac.rules import RULEBOOK
from outlay.iac.rules.spec import Free, ResourceRule, RuleBook

HEAD = """# Usage file keys

Generated from the price rules (`python -m outlay.iac.usage_reference > docs/iac-usage.md`). Every key is
optional: a cost whose usage is not given shows as "depends on usage" with its unit price, unless the key says
what it defaults to. A key not listed for a resource's type is an error naming the key. Keys with a dot are
nested (`standard.storage_gb` is `standard: {storage_gb: …}`). How the file is laid out: `docs/iac.md`.
"""


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(rules: RuleBook = RULEBOOK) -> str:
    lines = [HEAD]
    entries: list[tuple[str, ResourceRule | Free]] = [*rules.priced.items()]
    entries += [(name, free) for name, free in rules.free.items() if free.usage]
    for name, rule in sorted(entries, key=lambda entry: entry[0]):
        lines.append(f"## `{name}`\n")
        if not rule.usage:
            lines.append("Priced from its attributes only: no usage keys.\n")
            continue
        lines += ["| key | meaning |", "|---|---|"]
        lines += [f"| `{key.name}` | {cell(key.description)} |" for key in rule.usage]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
