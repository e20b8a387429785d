"""`outlay estimate`: what a Terraform plan or directory, or a CloudFormation template, will cost each month."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console

from outlay.iac.estimate import estimate
from outlay.iac.render import html_page, markdown, table
from outlay.iac.report import Estimate
from outlay.iac.sources import read
from outlay.iac.usage import load_usage

# Exit codes: 0 estimated (problems with single resources are reported, not fatal); 2 the input or the usage file
# is unusable (a usage key no rule reads is such an error: it would otherwise price silently as zero).
USAGE_ERROR = 2


def estimate_path(path: Path, usage_file: Path | None, region: str | None, parameters: Mapping[str, str]) -> Estimate:
    found = read(path, region, parameters)
    return estimate(found.resources, load_usage(usage_file), source=str(path), problems=found.problems)


def render(result: Estimate, fmt: str) -> object:
    if fmt == "json":
        return json.dumps(result.to_json(), indent=2)
    if fmt == "markdown":
        return markdown(result)
    if fmt == "html":
        return html_page(result)
    return table(result)


def run_estimate(
    path: Path, usage_file: Path | None, region: str | None, parameters: Mapping[str, str], fmt: str,
    out: Path | None, console: Console, err: Console,
) -> int:  # fmt: skip
    result = estimate_path(path, usage_file, region, parameters)
    rendered = render(result, fmt)
    if out is not None:
        out.write_text(str(rendered))
    elif isinstance(rendered, str):
        print(rendered)  # plain stdout so JSON, Markdown and HTML can be piped
    else:
        console.print(rendered)
    for problem in result.problems:
        colour = "red" if problem.kind == "usage" else "yellow"
        err.print(f"[{colour}]{problem.address}:[/] {problem.message}", highlight=False, soft_wrap=True)
    return USAGE_ERROR if any(p.kind == "usage" for p in result.problems) else 0
