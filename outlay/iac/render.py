"""An estimate (and a diff of two) written for people: a terminal table with the module tree, Markdown for
pull-request comments, and a standalone HTML page. (JSON is `Estimate.to_json`.) Pure functions from an estimate
to text. Names come from the input (addresses, attribute values in labels), so every format escapes them: rich
cells are `Text` (never markup), Markdown and HTML are escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from decimal import Decimal

from rich.table import Table
from rich.text import Text

from outlay.iac.diff import CostDiff
from outlay.iac.report import CostComponent, Estimate, PricedResource, cents, module_tree


def money(amount: Decimal | None) -> str:
    return "" if amount is None else f"${cents(amount):,}"


def quantity(amount: Decimal | None) -> str:
    if amount is None:
        return ""
    return f"{amount.normalize():,f}"  # (normalize alone would write 1E+7)


def component_cost(component: CostComponent) -> str:
    """The cost, or why there is none: a usage-based cost without usage shows its unit price."""
    if component.unit_price is None:
        return "no price"
    if component.monthly_quantity is None:
        return f"depends on usage: ${component.unit_price.normalize():f} per {component.unit}"
    return money(component.monthly_cost)


def lines(resource: PricedResource) -> Iterator[tuple[str, CostComponent | None]]:
    """(tree prefix + name, component or None for a sub-heading) for one resource's tree."""
    entries: list[tuple[str, CostComponent | None, list[CostComponent]]] = [
        (c.name, c, []) for c in resource.components
    ]
    entries += [(sub.name, None, sub.components) for sub in resource.subresources]
    for i, (name, component, children) in enumerate(entries):
        last = i == len(entries) - 1
        yield ("└─ " if last else "├─ ") + name, component
        for j, child in enumerate(children):
            yield ("   " if last else "│  ") + ("└─ " if j == len(children) - 1 else "├─ ") + child.name, child


def cells(resource: PricedResource) -> Iterator[tuple[str, str, str, str]]:
    """(name with its tree prefix, monthly quantity, unit, cost) per line of a resource's tree, as text; a
    sub-heading's other cells are empty. Each format escapes them its own way."""
    for name, component in lines(resource):
        if component is None:
            yield name, "", "", ""
        else:
            yield name, quantity(component.monthly_quantity), component.unit, component_cost(component)


def plain(value: str) -> Text:
    """A table cell shown as it is: rich would read "[bold]" in an attribute value as markup."""
    return Text(value)


def table(estimate: Estimate) -> Table:
    out = Table("Name", "Monthly qty", "Unit", "Monthly cost", title=plain(f"Estimate: {estimate.source}"),
                caption=plain(summary(estimate)), show_lines=False)  # fmt: skip
    for module, resources in module_tree(estimate.of_status("priced")).items():
        if module:
            out.add_row(Text(module, style="bold cyan"), "", "", "")
        for resource in resources:
            out.add_row(Text(resource.name_in_module(), style="bold"), "", "", money(resource.monthly_cost))
            for name, qty, unit, cost in cells(resource):
                out.add_row(plain(f"  {name}"), qty, plain(unit), plain(cost))
    out.add_row(Text("OVERALL TOTAL", style="bold"), "", "", Text(money(estimate.monthly_cost), style="bold"))
    return out


def summary(estimate: Estimate) -> str:
    free, unsupported = estimate.of_status("free"), estimate.of_status("unsupported")
    parts = [f"{len(estimate.of_status('priced'))} priced", f"{len(free)} free", f"{len(unsupported)} not supported"]
    if unsupported:
        types = sorted({r.type for r in unsupported})
        parts.append("not supported: " + ", ".join(types))
    if estimate.problems:
        parts.append(f"{len(estimate.problems)} problem(s)")
    return "; ".join(parts)


def markdown(estimate: Estimate) -> str:
    rows = [
        f"| {_code(r.address)} | {money(r.monthly_cost)} |"
        for r in sorted(estimate.of_status("priced"), key=lambda r: -r.monthly_cost)
    ]
    details = []
    for resource in estimate.of_status("priced"):
        details.append(
            f"\n**{_code(resource.address)}**\n\n| component | monthly qty | unit | monthly cost |\n|---|---|---|---|"
        )
        details += [f"| {_md(name)} | {qty} | {_md(unit)} | {_md(cost)} |" for name, qty, unit, cost in cells(resource)]
    problems = [f"- {_code(p.address)}: {_md(p.message)}" for p in estimate.problems]
    return "\n".join(
        [
            f"### Monthly cost estimate: **{money(estimate.monthly_cost)}**",
            "",
            f"_{_md(summary(estimate))}_",
            "",
            "| resource | monthly cost |",
            "|---|---|",
            *rows,
            "",
            "<details><summary>Cost components</summary>",
            *details,
            "",
            "</details>",
            *(["", "**Problems**", "", *problems] if problems else []),
            "",
        ]
    )


def _code(value: str) -> str:
    """An address as a Markdown code span: shown literally (no mentions, links or HTML inside); a backtick would
    end it and a pipe end the table cell, so neither is kept as it is."""
    return "`" + " ".join(value.split()).replace("`", "'").replace("|", "\\|") + "`"


# Escaped where they would make links, images, code or emphasis across cells; < and > are escaped as HTML. (An
# underscore inside a word is literal in GitHub's Markdown, and identifiers are full of them.)
_MARKDOWN_SPECIALS = str.maketrans({c: "\\" + c for c in "\\`*[]!|~"})


def _md(value: str) -> str:
    """Text safe in a Markdown table cell of a bot's comment: one line, Markdown's specials escaped (no images,
    links or headings), HTML escaped, and no @mentions (a word joiner after each @)."""
    one_line = " ".join(value.split())
    return html.escape(one_line.translate(_MARKDOWN_SPECIALS), quote=False).replace("@", "@\u2060")


def html_page(estimate: Estimate) -> str:
    e = html.escape
    body = []
    for resource in estimate.of_status("priced"):
        body.append(f"<tr class='resource'><th colspan='3'>{e(resource.address)}</th>"
                    f"<td>{e(money(resource.monthly_cost))}</td></tr>")  # fmt: skip
        body += [f"<tr><td class='tree'>{e(name)}</td><td>{e(qty)}</td><td>{e(unit)}</td><td>{e(cost)}</td></tr>"
                 for name, qty, unit, cost in cells(resource)]  # fmt: skip
    problems = "".join(f"<li><code>{e(p.address)}</code>: {e(p.message)}</li>" for p in estimate.problems)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outlay estimate: {e(estimate.source)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse}}
td,th{{padding:.2rem .8rem;text-align:left}}td:nth-child(n+2){{text-align:right}}.tree{{white-space:pre;font-family:monospace}}
tr.resource th{{padding-top:1rem}}</style></head>
<body><h1>Monthly cost estimate: {e(money(estimate.monthly_cost))}</h1>
<p>{e(estimate.source)} — {e(summary(estimate))}</p>
<table><thead><tr><th>Name</th><th>Monthly qty</th><th>Unit</th><th>Monthly cost</th></tr></thead>
<tbody>{"".join(body)}</tbody></table>
{f"<h2>Problems</h2><ul>{problems}</ul>" if problems else ""}
</body></html>
"""


def signed(amount: Decimal) -> str:
    return ("+" if amount > 0 else "-" if amount < 0 else "") + money(abs(amount))


def headline(change: CostDiff) -> str:
    pct = change.delta_pct
    share = "" if pct is None else f" ({'+' if pct > 0 else ''}{pct.quantize(Decimal('0.1'))}%)"
    if not change.delta:
        return f"Monthly cost unchanged: {money(change.after)}"
    verb = "increase" if change.delta > 0 else "decrease"
    return (
        f"Monthly cost will {verb} by {money(abs(change.delta))}{share}: {money(change.before)} → {money(change.after)}"
    )


def diff_table(change: CostDiff) -> Table:
    out = Table("Resource", "Change", "Before", "After", "Monthly delta", title=plain(headline(change)),
                caption=plain(f"not priced: {len(change.not_priced)} (see the problems)") if change.not_priced else None)  # fmt: skip
    for resource in change.changed():
        out.add_row(plain(resource.address), resource.change, money(resource.before), money(resource.after),
                    signed(resource.delta))  # fmt: skip
        for component in resource.components:
            if component.delta:
                out.add_row(plain(f"  {component.name}"), "", money(component.before), money(component.after),
                            signed(component.delta))  # fmt: skip
    out.add_row(Text("TOTAL", style="bold"), "", money(change.before), money(change.after), signed(change.delta))
    return out


def diff_markdown(change: CostDiff, verdicts: Sequence[str] = ()) -> str:
    """A pull-request comment: the headline, the changed resources, their changed components, the gate's verdicts."""
    rows = [
        f"| {_code(r.address)} | {r.change} | {money(r.before)} | {money(r.after)} | {signed(r.delta)} |"
        for r in change.changed()
    ]
    details = [
        f"| {_code(r.address)} | {_md(c.name)} | {money(c.before)} | {money(c.after)} | {signed(c.delta)} |"
        for r in change.changed()
        for c in r.components
        if c.delta
    ]
    parts = [f"### {_md(headline(change))}", ""]
    if verdicts:
        parts += [*(f"- {_md(v)}" for v in verdicts), ""]
    if rows:
        parts += ["| resource | change | before | after | monthly delta |", "|---|---|---|---|---|", *rows, ""]
        parts += ["<details><summary>Changed cost components</summary>", "",
                  "| resource | component | before | after | delta |", "|---|---|---|---|---|", *details, "",
                  "</details>", ""]  # fmt: skip
    else:
        parts += ["No resource changes its cost.", ""]
    if change.not_priced:
        parts += ["<details><summary>Not in the totals: not priced or not supported</summary>", "",
                  *(f"- {_md(reason)}" for reason in change.not_priced), "", "</details>", ""]  # fmt: skip
    return "\n".join(parts)
