"""A change's cost (diff), the policy gate's verdicts, and the policy file's errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

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
    import json

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
