"""A change's cost (diff), the policy gate's verdicts, and the policy file's errors."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from outlay.cli.main import app
from outlay.iac.diff import diff
from outlay.iac.gate import Budget, budget_verdict, evaluate, load_policy, parse_policy
from outlay.iac.resources import InputError, Resource
from tests.unit.iac.support import estimate_of, resource

BASE = [
    resource("aws_instance.web", {"instance_type": "t3.micro"}),
    resource("aws_instance.old", {"instance_type": "t3.nano"}),
]
HEAD = [resource("aws_instance.web", {"instance_type": "t3.large"}), resource("aws_nat_gateway.out", {})]


def test_diff_per_resource_and_component() -> None:
    change = diff(estimate_of(BASE), estimate_of(HEAD))
    kinds = {r.address: r.change for r in change.resources}
    assert kinds == {"aws_instance.web": "changed", "aws_instance.old": "removed", "aws_nat_gateway.out": "added"}
    web = next(r for r in change.resources if r.address == "aws_instance.web")
    assert web.delta == Decimal(730) * (Decimal("0.0832") - Decimal("0.0104"))
    names = {c.name for c in web.components if c.delta}
    assert names == {
        "Instance usage (Linux/UNIX, on-demand, t3.micro)",
        "Instance usage (Linux/UNIX, on-demand, t3.large)",
    }
    assert change.delta == change.after - change.before == sum((r.delta for r in change.resources), Decimal(0))
    document = change.to_json()
    assert document["monthly_delta"] == str(change.delta.normalize()) and len(document["resources"]) == 3


def test_cost_rules_pass_and_fail_at_their_limits() -> None:
    change = diff(estimate_of(BASE), estimate_of(HEAD))
    limit = change.delta.quantize(Decimal("0.01"))
    strict = parse_policy({"max_monthly_increase": str(limit - 1), "max_monthly_increase_pct": 10})
    loose = parse_policy({"max_monthly_increase": str(limit + 1)})
    assert [(v.rule, v.passed) for v in evaluate(strict, change, [])] == [
        ("max_monthly_increase", False), ("max_monthly_increase_pct", False), ("priced", True)]  # fmt: skip
    assert [v.passed for v in evaluate(loose, change, [])] == [True, True]
    new_stack = diff(estimate_of([]), estimate_of(HEAD))
    assert evaluate(parse_policy({"max_monthly_increase_pct": 5}), new_stack, [])[0].passed  # no base: no %


def test_budget_takes_the_rest_of_the_month_of_the_change() -> None:
    change = diff(estimate_of([]), estimate_of(HEAD))  # adds change.delta a month
    budget = Budget(monthly_amount=Decimal(1000))
    # Half of November left: half the change lands this month.
    half = budget_verdict(budget, change, Decimal(1000) - change.delta / 2 + Decimal("0.01"), date(2026, 11, 16), "api")
    assert not half.passed and "forecast service" in half.message
    fits = budget_verdict(budget, change, Decimal(1000) - change.delta / 2, date(2026, 11, 16), "api")
    assert fits.passed
    fallback = Budget(monthly_amount=Decimal(1000), forecast_month_end=Decimal(990))
    assert "policy file's forecast" in budget_verdict(fallback, change, None, date(2026, 11, 30), "down").message
    blind = budget_verdict(budget, change, None, date(2026, 11, 30), "the forecast API is not reachable")
    assert not blind.passed and "not reachable" in blind.message


def test_tags_and_families_judge_only_what_the_change_touches() -> None:
    policy = parse_policy({"required_tags": ["team"], "allowed_instance_families": ["t3", "m7g"]})
    resources = [
        Resource("aws_instance.a", "aws_instance", {"instance_type": "m5.large"}, "us-east-1", tags={"team": "x"}),
        Resource("aws_db_instance.b", "aws_db_instance", {"instance_class": "db.t3.micro"}, "us-east-1"),
        Resource("aws_instance.kept", "aws_instance", {"instance_type": "c4.large"}, "us-east-1", action="no-op"),
        Resource("aws_eip_association.c", "aws_eip_association", {}, "us-east-1"),
        Resource("aws_route53_record.www", "aws_route53_record", {}, "us-east-1"),  # cannot carry tags
        Resource("aws_s3_bucket_versioning.v", "aws_s3_bucket_versioning", {}, "us-east-1"),  # free, untagged
    ]
    _, tags, families = evaluate(policy, diff(estimate_of([]), estimate_of([])), resources)
    assert not tags.passed and tags.message == "aws_db_instance.b lacks team"
    assert not families.passed and "aws_instance.a uses m5.large" in families.message and "c4" not in families.message


def test_policy_file_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="max_monthly_increse: Extra inputs are not permitted"):
        parse_policy({"max_monthly_increse": 5})
    with pytest.raises(InputError, match="budget.monthly_amount"):
        parse_policy({"budget": {"monthly_amount": -1}})
    with pytest.raises(InputError, match="allowed_instance_families"):
        parse_policy({"allowed_instance_families": ["m5.large!"]})
    path = tmp_path / "policy.yml"
    path.write_text("max_monthly_increase: [")
    with pytest.raises(InputError, match="policy.yml: not valid YAML"):
        load_policy(path)


def test_cli_gate_exit_codes(tmp_path: Path) -> None:
    def plan(instance_type: str) -> Path:
        path = tmp_path / f"{instance_type}.json"
        path.write_text(json.dumps({"planned_values": {"root_module": {"resources": [
            {"address": "aws_instance.web", "mode": "managed", "type": "aws_instance",
             "values": {"instance_type": instance_type, "availability_zone": "us-east-1a", "tags": {"team": "x"}}}]}}}))  # fmt: skip
        return path

    policy = tmp_path / "policy.yml"
    policy.write_text("max_monthly_increase: 50\nrequired_tags: [team]\n")
    runner = CliRunner()
    small = runner.invoke(
        app, ["gate", "--base", str(plan("t3.micro")), "--head", str(plan("t3.small")), "--policy", str(policy)]
    )
    assert small.exit_code == 0 and "gate passed" in small.stdout, small.output
    big = runner.invoke(
        app, ["gate", "--base", str(plan("t3.micro")), "--head", str(plan("m5.2xlarge")), "--policy", str(policy)]
    )
    assert big.exit_code == 1 and "FAIL max_monthly_increase" in big.stdout and "gate failed" in big.stdout
    policy.write_text("max_monthly_increas: 50\n")
    bad = runner.invoke(app, ["gate", "--head", str(plan("t3.small")), "--policy", str(policy)])
    assert bad.exit_code == 2 and "max_monthly_increas" in bad.stderr
    shown = runner.invoke(
        app, ["diff", "--base", str(plan("t3.micro")), "--head", str(plan("t3.small")), "--format", "json"]
    )
    assert json.loads(shown.stdout)["monthly_delta"] == str((Decimal(730) * Decimal("0.0104")).normalize())


def test_costs_the_estimate_cannot_price_fail_the_gate_unless_allowed() -> None:
    head = estimate_of([resource("aws_instance.big", {"instance_type": "p99.huge"}), resource("aws_glue_job.etl", {})])
    change = diff(estimate_of([]), head)
    assert [r.split(":")[0] for r in change.unpriced] == ["aws_instance.big"]
    assert change.unsupported == ["aws_glue_job.etl: aws_glue_job has no price rule yet"]
    strict = evaluate(parse_policy({}), change, [])[0]
    assert strict.rule == "priced" and not strict.passed and "aws_instance.big" in strict.message
    assert evaluate(parse_policy({"allow_unpriced": True}), change, []) == []
    change_ok = diff(estimate_of([]), estimate_of([resource("aws_glue_job.etl", {})]))
    assert evaluate(parse_policy({}), change_ok, [])[0].passed  # unsupported: listed, not failing by default
    assert not evaluate(parse_policy({"fail_on_unsupported": True}), change_ok, [])[0].passed


def test_without_a_base_a_template_is_all_new(tmp_path: Path) -> None:
    template = tmp_path / "stack.yaml"
    template.write_text("Resources:\n  Gw:\n    Type: AWS::EC2::NatGateway\n    Properties: {}\n")
    policy = tmp_path / "policy.yml"
    policy.write_text("max_monthly_increase: 10\n")
    runner = CliRunner()
    gated = runner.invoke(app, ["gate", "--head", str(template), "--policy", str(policy), "--region", "us-east-1"])
    assert gated.exit_code == 1 and "adds $32.85 a month" in gated.stdout, gated.output
    table_out = tmp_path / "diff.txt"
    shown = runner.invoke(app, ["diff", "--head", str(template), "--region", "us-east-1", "--out", str(table_out)])
    assert shown.exit_code == 0 and "Monthly cost will increase by $32.85" in table_out.read_text()
    html = runner.invoke(app, ["diff", "--head", str(template), "--region", "us-east-1", "--format", "html"])
    assert html.exit_code == 2 and "table, json or markdown" in html.stderr


def _plan(tmp_path: Path, name: str, resources: list[dict[str, Any]]) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"planned_values": {"root_module": {"resources": [
        {"mode": "managed", "type": r["address"].split(".")[0], **r} for r in resources]}}}))  # fmt: skip
    return path


def _text_verdicts(stdout: str) -> list[tuple[str, bool]]:
    return [(m[2], m[1] == "pass") for m in re.finditer(r"^(pass|FAIL) ([a-z_]+): ", stdout, re.MULTILINE)]


GATED_HEAD = [
    {"address": "aws_instance.web", "values": {"instance_type": "m5.large", "availability_zone": "us-east-1a",
                                               "tags": {"team": "x"}}},
    {"address": "aws_db_instance.db", "values": {"instance_class": "db.r5.large", "engine": "mysql",
                                                 "allocated_storage": 20, "availability_zone": "us-east-1a"}},
]  # fmt: skip
GATED_POLICY = (
    "max_monthly_increase: 50\nrequired_tags: [team, env]\nallowed_instance_families: [t3, m7g]\n"
    "budget:\n  monthly_amount: 100000\n  forecast_month_end: 1000\n"
)


def test_cli_gate_json_has_the_text_verdicts_with_their_details(tmp_path: Path) -> None:
    base = _plan(
        tmp_path, "base", [GATED_HEAD[0] | {"values": {**GATED_HEAD[0]["values"], "instance_type": "t3.micro"}}]
    )
    head = _plan(tmp_path, "head", GATED_HEAD)
    policy = tmp_path / "policy.yml"
    policy.write_text(GATED_POLICY)
    args = ["gate", "--base", str(base), "--head", str(head), "--policy", str(policy)]
    runner = CliRunner()
    as_text = runner.invoke(app, args)
    as_json = runner.invoke(app, [*args, "--format", "json"])
    assert as_text.exit_code == as_json.exit_code == 1, as_json.output
    document = json.loads(as_json.stdout)
    assert document["schema_version"] == "1" and document["passed"] is False
    assert document["policy"] == str(policy)
    verdicts = {v["rule"]: v for v in document["verdicts"]}
    assert [(v["rule"], v["passed"]) for v in document["verdicts"]] == _text_verdicts(as_text.stdout) == [
        ("max_monthly_increase", False), ("priced", True), ("budget", True), ("required_tags", False),
        ("allowed_instance_families", False)]  # fmt: skip
    for verdict in document["verdicts"]:  # the same message the text prints
        assert f"{'pass' if verdict['passed'] else 'FAIL'} {verdict['rule']}: {verdict['message']}" in as_text.stdout
    # The diff is `outlay diff --format json`'s, byte for byte.
    shown = runner.invoke(app, ["diff", "--base", str(base), "--head", str(head), "--format", "json"])
    assert document["diff"] == json.loads(shown.stdout)
    delta = Decimal(document["diff"]["monthly_delta"])
    assert delta > 50 and Decimal(document["diff"]["monthly_cost_after"]) - Decimal(
        document["diff"]["monthly_cost_before"]) == delta  # fmt: skip
    assert verdicts["max_monthly_increase"]["details"] == {"monthly_delta": document["diff"]["monthly_delta"],
                                                           "limit": "50"}  # fmt: skip
    assert verdicts["required_tags"]["details"] == {
        "required": ["team", "env"],
        "resources": [{"address": "aws_instance.web", "missing": ["env"]},
                      {"address": "aws_db_instance.db", "missing": ["team", "env"]}]}  # fmt: skip
    assert verdicts["allowed_instance_families"]["details"] == {
        "allowed_families": ["t3", "m7g"],
        "resources": [{"address": "aws_instance.web", "instance_type": "m5.large", "family": "m5"},
                      {"address": "aws_db_instance.db", "instance_type": "db.r5.large", "family": "r5"}]}  # fmt: skip
    budget = verdicts["budget"]["details"]
    assert (
        budget["scope"] == "total" and budget["monthly_amount"] == "100000" and budget["month_end_forecast"] == "1000"
    )
    assert budget["forecast_origin"] == "policy_file" and budget["monthly_delta"] == document["diff"]["monthly_delta"]
    share = Decimal(budget["share_of_month_left"])
    assert 0 < share <= 1
    assert abs(Decimal(budget["projected"]) - (Decimal(1000) + delta * share)) < Decimal("0.1")
    assert "gate failed" not in as_json.stdout and "┃" not in as_json.stdout  # nothing but the JSON


def test_cli_gate_json_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    head = _plan(tmp_path, "head", [{"address": "aws_instance.web", "values": {
        "instance_type": "t3.micro", "availability_zone": "us-east-1a", "tags": {"team": "x", "env": "prod"}}}])  # fmt: skip
    policy = tmp_path / "policy.yml"
    policy.write_text("required_tags: [team, env]\nallowed_instance_families: [t3]\n")
    runner = CliRunner()
    args = ["gate", "--head", str(head), "--policy", str(policy), "--format", "json"]
    passing = runner.invoke(app, args)
    assert passing.exit_code == 0, passing.output
    document = json.loads(passing.stdout)
    assert document["passed"] is True and all(v["passed"] for v in document["verdicts"])
    assert {v["rule"]: v["details"]["resources"] for v in document["verdicts"] if v["rule"] != "priced"} == {
        "required_tags": [], "allowed_instance_families": []}  # fmt: skip
    # A usage key no rule reads: the JSON is written, then exit 2 with the key on stderr.
    usage = tmp_path / "usage.yml"
    usage.write_text("version: 0.1\nresource_usage:\n  aws_instance.web:\n    no_such_key: 1\n")
    unusable_usage = runner.invoke(app, [*args, "--usage-file", str(usage)])
    assert unusable_usage.exit_code == 2 and "no_such_key" in unusable_usage.stderr
    assert json.loads(unusable_usage.stdout)["schema_version"] == "1"
    policy.write_text("required_tag: [team]\n")
    unusable = runner.invoke(app, args)
    assert unusable.exit_code == 2 and unusable.stdout == "" and "required_tag" in unusable.stderr
    wrong_format = runner.invoke(app, [*args[:-1], "yaml"])
    assert wrong_format.exit_code == 2 and "yaml" in wrong_format.stderr
    policy.write_text("required_tags: [team]\n")

    def broken(*_: object) -> dict[str, Any]:
        raise RuntimeError("defect")

    monkeypatch.setattr("outlay.cli.iac_commands.gate_json", broken)
    internal = runner.invoke(app, args)
    assert internal.exit_code == 3 and internal.stdout == "" and "internal error" in internal.stderr


def test_verdict_details_of_the_cost_and_budget_rules() -> None:
    change = diff(estimate_of(BASE), estimate_of(HEAD))
    increase, pct = evaluate(parse_policy({"max_monthly_increase": 5, "max_monthly_increase_pct": "12.5"}), change, [])[
        :2
    ]
    assert increase.details == {"monthly_delta": str(change.delta.normalize()), "limit": "5"}
    assert change.delta_pct is not None
    assert pct.details == {"monthly_delta_pct": str(change.delta_pct.quantize(Decimal("0.01"))), "limit_pct": "12.5"}
    blind = budget_verdict(Budget(monthly_amount=Decimal(1000), scope="service=AmazonEC2"), change, None,
                           date(2026, 11, 30), "the forecast API is not reachable")  # fmt: skip
    assert blind.details["month_end_forecast"] is None and blind.details["projected"] is None
    assert blind.details["forecast_error"] == "the forecast API is not reachable"
    assert blind.details["scope"] == "service=AmazonEC2" and blind.details["monthly_amount"] == "1000"
    live = budget_verdict(Budget(monthly_amount=Decimal(1000)), change, Decimal(900), date(2026, 11, 16), "api")
    assert live.details["forecast_origin"] == "forecast_service" and live.details["share_of_month_left"] == "0.5"
    assert Decimal(live.details["projected"]) == (Decimal(900) + change.delta / 2).quantize(Decimal("0.01"))
    unpriced = diff(estimate_of([]), estimate_of([resource("aws_instance.big", {"instance_type": "p99.huge"})]))
    priced = evaluate(parse_policy({}), unpriced, [])[0]
    assert priced.details["failing"] == unpriced.unpriced and priced.details["fail_on_unsupported"] is False
