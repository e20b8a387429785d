"""`outlay estimate | diff | gate | comment`: the cost of infrastructure code, of a change to it, whether the
repository's policy lets it through, and the pull-request comment that says so."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
from rich.console import Console
from rich.markup import escape

from outlay.iac.comment import Platform, Target, post_or_update
from outlay.iac.diff import CostDiff, diff
from outlay.iac.estimate import estimate
from outlay.iac.forecast_source import api_call, month_end_forecast
from outlay.iac.gate import Verdict, evaluate, gate_json, load_policy
from outlay.iac.render import diff_markdown, diff_table, html_page, markdown, table
from outlay.iac.report import Estimate
from outlay.iac.resources import InputError, Resource
from outlay.iac.sources import read
from outlay.iac.usage import UsageFile, load_usage

# Exit codes: 0 done (problems with single resources are reported, not fatal); 1 the gate failed; 2 the input,
# the usage file or the policy is unusable (a usage key no rule reads is such an error: it would otherwise price
# silently as zero).
GATE_FAILED, USAGE_ERROR = 1, 2


@dataclass(frozen=True)
class Inputs:
    usage_file: Path | None
    region: str | None
    parameters: Mapping[str, str]

    def usage(self) -> UsageFile:
        return load_usage(self.usage_file)


def estimate_path(path: Path, inputs: Inputs, *, prior: bool = False) -> tuple[Estimate, list[Resource], str]:
    """(the estimate, the resources read, what kind of input it was)."""
    found = read(path, inputs.region, inputs.parameters, prior=prior)
    source = f"{path} (before the change)" if prior else str(path)
    return (
        estimate(found.resources, inputs.usage(), source=source, problems=found.problems),
        found.resources,
        found.kind,
    )


def change_of(base: Path | None, head: Path, inputs: Inputs) -> tuple[CostDiff, Estimate, list[Resource]]:
    """The diff from `base` to `head`. Without a base, a plan's own state before the change is the base; any other
    input is then all new."""
    after, resources, kind = estimate_path(head, inputs)
    if base is not None:
        before, _, _ = estimate_path(base, inputs)
    elif kind == "terraform plan":
        before, _, _ = estimate_path(head, inputs, prior=True)
    else:
        before = Estimate([], source="nothing (all new)")
    return diff(before, after), after, resources


def emit(rendered: object, out: Path | None, console: Console) -> None:
    if out is None:
        if isinstance(rendered, str):
            print(rendered)  # plain stdout so JSON, Markdown and HTML can be piped
        else:
            console.print(rendered)
    elif isinstance(rendered, str):
        out.write_text(rendered)
    else:  # a rich table, written as the terminal would show it
        with out.open("w") as fh:
            Console(file=fh, width=160, no_color=True).print(rendered)


def report_problems(result: Estimate, err: Console) -> int:
    for problem in result.problems:
        colour = "red" if problem.kind == "usage" else "yellow"
        err.print(f"[{colour}]{escape(problem.address)}:[/] {escape(problem.message)}", highlight=False, soft_wrap=True)
    return USAGE_ERROR if any(p.kind == "usage" for p in result.problems) else 0


def run_estimate(path: Path, inputs: Inputs, fmt: str, out: Path | None, console: Console, err: Console) -> int:
    result, _, _ = estimate_path(path, inputs)
    renderers = {"json": lambda: json.dumps(result.to_json(), indent=2), "markdown": lambda: markdown(result),
                 "html": lambda: html_page(result), "table": lambda: table(result)}  # fmt: skip
    emit(renderers[fmt](), out, console)
    return report_problems(result, err)


def run_diff(base: Path | None, head: Path, inputs: Inputs, fmt: str, out: Path | None, console: Console,
             err: Console) -> int:  # fmt: skip
    change, after, _ = change_of(base, head, inputs)
    renderers = {"json": lambda: json.dumps(change.to_json(), indent=2), "markdown": lambda: diff_markdown(change),
                 "table": lambda: diff_table(change)}  # fmt: skip
    if fmt not in renderers:
        raise InputError(f"--format: outlay diff writes table, json or markdown, not {fmt}")
    emit(renderers[fmt](), out, console)
    return report_problems(after, err)


def verdicts_for(policy_path: Path, change: CostDiff, resources: list[Resource], api_url: str | None) -> list[Verdict]:
    policy = load_policy(policy_path)
    forecast, source = None, "no OUTLAY_API_URL"
    if policy.budget is not None and api_url:
        key = os.environ.get("OUTLAY_API_KEY", "")
        forecast, source = month_end_forecast(api_url, key, policy.budget.scope)
    return evaluate(policy, change, resources, forecast, forecast_source=source)


def run_gate(base: Path | None, head: Path, policy_path: Path, inputs: Inputs, api_url: str | None,
             console: Console, err: Console, fmt: str = "text") -> int:  # fmt: skip
    """Exit 0 when every rule passes, 1 when one fails, 2 when the input is unusable (after the verdicts are shown,
    for a usage key no rule reads). `fmt` "json" writes one JSON object (docs/iac.md) instead of the text."""
    if fmt not in ("text", "json"):
        raise InputError(f"--format: outlay gate writes text or json, not {fmt}")
    change, after, resources = change_of(base, head, inputs)
    verdicts = verdicts_for(policy_path, change, resources, api_url)
    failed = [v for v in verdicts if not v.passed]
    if fmt == "json":
        emit(json.dumps(gate_json(change, verdicts, str(policy_path)), indent=2), None, console)
        return report_problems(after, err) or (GATE_FAILED if failed else 0)
    console.print(diff_table(change))
    for verdict in verdicts:
        console.print(
            f"[{'green' if verdict.passed else 'red'}]{escape(str(verdict))}[/]", highlight=False, soft_wrap=True
        )
    problems = report_problems(after, err)
    if problems:
        return problems
    console.print(f"[red]gate failed: {len(failed)} rule(s)[/]" if failed else "[green]gate passed[/]")
    return GATE_FAILED if failed else 0


def target_from_env(platform: Platform, number: int | None) -> Target:
    """Where to comment, from the CI's own environment variables (GitHub Actions or GitLab CI)."""
    env = os.environ
    if platform == "github":
        token, repository = env.get("GITHUB_TOKEN", ""), env.get("GITHUB_REPOSITORY", "")
        api_url = env.get("GITHUB_API_URL", "https://api.github.com")
        names = ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "--pr")
    else:
        token = env.get("GITLAB_TOKEN", "")
        repository = env.get("CI_PROJECT_ID", "")
        api_url = env.get("CI_API_V4_URL", "https://gitlab.com/api/v4")
        number = number or (int(env["CI_MERGE_REQUEST_IID"]) if env.get("CI_MERGE_REQUEST_IID", "").isdigit() else None)
        names = ("GITLAB_TOKEN", "CI_PROJECT_ID", "--pr (or CI_MERGE_REQUEST_IID)")
    missing = [name for name, value in zip(names, (token, repository, number), strict=True) if not value]
    if missing:
        raise InputError(f"outlay comment {platform}: set {', '.join(missing)}")
    assert number is not None
    return Target(platform, api_url, repository, number, token)


def run_comment(platform: Platform, number: int | None, base: Path | None, head: Path, policy_path: Path | None,
                inputs: Inputs, api_url: str | None, console: Console) -> int:  # fmt: skip
    target = target_from_env(platform, number)
    change, _, resources = change_of(base, head, inputs)
    verdicts = verdicts_for(policy_path, change, resources, api_url) if policy_path else []
    action, comment_id = post_or_update(target, diff_markdown(change, [str(v) for v in verdicts]))
    console.print(f"{action} comment {comment_id} on {target.repository} #{target.number}")
    return 0


@dataclass(frozen=True)
class Change:
    """Which pull request commit an estimate is of (`POST /v1/iac/estimates`)."""

    repository: str | None
    pull_request: int | None
    ref: str | None
    commit_sha: str | None
    title: str | None = None
    url: str | None = None


NANO = Decimal("1e-9")  # the API keeps amounts to the nano-dollar


def run_report(change_of_pr: Change, base: Path | None, head: Path, policy_path: Path | None, inputs: Inputs,
               api_url: str | None, console: Console, err: Console) -> int:  # fmt: skip
    """Post the diff (and, with a policy, the gate's verdict) to the Outlay API; exit 0 when stored, 2 when the
    input is unusable or the API refuses or cannot be reached."""
    missing = [name for name, value in (("--api-url (or OUTLAY_API_URL)", api_url),
                                        ("--repository", change_of_pr.repository), ("--commit", change_of_pr.commit_sha),
                                        ("--pr or --ref", change_of_pr.pull_request or change_of_pr.ref)) if not value]  # fmt: skip
    if missing:
        raise InputError(f"outlay report-estimate: set {', '.join(missing)}")
    assert api_url is not None
    change, after, resources = change_of(base, head, inputs)
    verdict = "none"
    if policy_path is not None:
        verdict = "passed" if all(v.passed for v in verdicts_for(policy_path, change, resources, api_url)) else "failed"
    before, now = change.before.quantize(NANO), change.after.quantize(NANO)
    body = {
        "repository": change_of_pr.repository, "pull_request": change_of_pr.pull_request, "ref": change_of_pr.ref,
        "commit_sha": change_of_pr.commit_sha, "title": change_of_pr.title, "url": change_of_pr.url,
        "monthly_cost_before": format(before, "f"), "monthly_cost_after": format(now, "f"),
        "monthly_delta": format(now - before, "f"),
        "resources_changed": len(change.changed()), "verdict": verdict,
    }  # fmt: skip
    try:
        reply = api_call("POST", api_url, os.environ.get("OUTLAY_API_KEY", ""), "/v1/iac/estimates", json=body)
    except httpx.HTTPError as exc:
        err.print(
            f"[red]the Outlay API at {escape(api_url)} is not reachable ({type(exc).__name__})[/]", highlight=False
        )
        return USAGE_ERROR
    if reply.status_code != 201:
        try:
            detail = reply.json().get("detail", "")
        except (ValueError, AttributeError):  # not a problem document (a proxy's page): the status says enough
            detail = reply.text[:200]
        err.print(f"[red]the Outlay API answered {reply.status_code}: {escape(str(detail))}[/]", highlight=False,
                  soft_wrap=True)  # fmt: skip
        return USAGE_ERROR
    stored = reply.json()
    console.print(f"reported {escape(str(change_of_pr.repository))} {stored['commit_sha'][:12]}: "
                  f"{stored['monthly_delta']} USD a month, verdict {verdict}", highlight=False)  # fmt: skip
    return report_problems(after, err)
