"""The CI cost gate: a change is stopped when the repository's policy file says so.

The policy file (YAML, in the repository; every key optional, an unknown key is an error naming it):

    version: 1
    max_monthly_increase: 500          # USD a month the change may add
    max_monthly_increase_pct: 10       # % of the base's monthly cost the change may add
    budget:
      monthly_amount: 20000            # USD: the month's budget for `scope`
      scope: total                     # the forecast scope it is compared with ('total', 'service=AmazonEC2', …)
      forecast_month_end: 18500        # used when the forecast service cannot be asked (else it is checked live)
    required_tags: [team, env]         # tag keys every taggable resource the change creates or updates must carry
    allowed_instance_families: [t3, t4g, m7g, r7g]

The tag and family rules are the platform's own policies (`outlay.policies`), so the gate and the running
services judge a resource the same way. Evaluation is pure: the forecast is fetched by the caller and passed in.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from outlay.iac.diff import CostDiff
from outlay.iac.render import money
from outlay.iac.report import text
from outlay.iac.resources import InputError, Resource, read_yaml
from outlay.iac.rules import RULEBOOK
from outlay.policies import AllowedInstanceFamilies, Amount, RequiredTags

# Attributes that name an instance type or class, by the resource types that have them.
TYPE_ATTRIBUTES = ("instance_type", "instance_class", "node_type", "instance_types")
# Priced types that cannot carry tags (usage-only traffic, DNS records): every other priced type can, and a
# resource with a `tags` attribute can whatever its type. Free companions (listeners, policies, attachments) are
# not judged: they cost nothing to allocate.
UNTAGGABLE_PRICED = frozenset({"aws_data_transfer", "aws_route53_record"})


PRICED_TYPES = frozenset(RULEBOOK.priced)


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    monthly_amount: Amount = Field(gt=0)
    scope: str = "total"
    forecast_month_end: Amount | None = None


class GatePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    max_monthly_increase: Amount | None = None
    max_monthly_increase_pct: Decimal | None = Field(default=None, ge=0)
    budget: Budget | None = None
    required_tags: list[str] = Field(default_factory=list)
    allowed_instance_families: list[str] = Field(default_factory=list)
    # A change whose cost is partly unknown (no price for a component, no region) fails unless this is true:
    # a gate that read an unknown cost as zero would let anything through. Types without a price rule are listed
    # and fail only when `fail_on_unsupported` is true (most are cheap companions; all are named).
    allow_unpriced: bool = False
    fail_on_unsupported: bool = False

    def tags_rule(self) -> RequiredTags | None:
        return RequiredTags(keys=self.required_tags) if self.required_tags else None

    def families_rule(self) -> AllowedInstanceFamilies | None:
        return (
            AllowedInstanceFamilies(families=self.allowed_instance_families) if self.allowed_instance_families else None
        )


def _first_error(exc: ValidationError, path: str, prefix: str = "") -> InputError:
    first = exc.errors()[0]
    where = prefix or ".".join(str(part) for part in first["loc"]) or "(top level)"
    return InputError(f"{path}: {where}: {first['msg']}")


def parse_policy(document: Any, path: str = "policy file") -> GatePolicy:
    try:
        policy = GatePolicy.model_validate(document or {})
    except ValidationError as exc:
        raise _first_error(exc, path) from None
    # The platform's own rules check their values (family names, tag keys); their errors name the file's key.
    for key, build in (("required_tags", policy.tags_rule), ("allowed_instance_families", policy.families_rule)):
        try:
            build()
        except ValidationError as exc:
            raise _first_error(exc, path, key) from None
    return policy


def load_policy(path: Path) -> GatePolicy:
    return parse_policy(read_yaml(path, "policy file"), str(path))


# `outlay gate --format json`'s own schema (docs/iac.md, "JSON"); its `diff` is `outlay diff --format json`'s.
GATE_SCHEMA_VERSION = "1"


@dataclass(frozen=True)
class Verdict:
    rule: str
    passed: bool
    message: str
    # What the message says, as data (JSON-ready: money as decimal strings), so no reader parses the wording.
    details: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __str__(self) -> str:
        return f"{'pass' if self.passed else 'FAIL'} {self.rule}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "message": self.message, "details": dict(self.details)}


def gate_json(change: CostDiff, verdicts: Sequence[Verdict], policy: str) -> dict[str, Any]:
    """`outlay gate --format json`: the verdicts, and the diff as `outlay diff --format json` writes it."""
    return {
        "schema_version": GATE_SCHEMA_VERSION,
        "policy": policy,
        "passed": all(v.passed for v in verdicts),
        "diff": change.to_json(),
        "verdicts": [v.to_json() for v in verdicts],
    }


def cost_verdicts(policy: GatePolicy, change: CostDiff) -> list[Verdict]:
    out = []
    if policy.max_monthly_increase is not None:
        ok = change.delta <= policy.max_monthly_increase
        details = {"monthly_delta": text(change.delta), "limit": text(policy.max_monthly_increase)}
        out.append(Verdict("max_monthly_increase", ok, f"the change adds {money(change.delta)} a month "
                                                      f"(limit {money(policy.max_monthly_increase)})", details))  # fmt: skip
    if policy.max_monthly_increase_pct is not None:
        pct = change.delta_pct
        if pct is None:  # nothing to compare with: a new stack is judged by the absolute limit and the budget
            out.append(Verdict("max_monthly_increase_pct", True, "the base costs nothing: no percentage to compare",
                               {"monthly_delta_pct": None, "limit_pct": text(policy.max_monthly_increase_pct)}))  # fmt: skip
        else:
            ok = pct <= policy.max_monthly_increase_pct
            details = {"monthly_delta_pct": text(pct.quantize(Decimal("0.01"))),
                       "limit_pct": text(policy.max_monthly_increase_pct)}  # fmt: skip
            out.append(Verdict("max_monthly_increase_pct", ok, f"the change adds {pct.quantize(Decimal('0.1'))}% "
                                                                 f"(limit {policy.max_monthly_increase_pct}%)", details))  # fmt: skip
    return out


def budget_verdict(budget: Budget, change: CostDiff, forecast: Decimal | None, today: date, source: str) -> Verdict:
    """The month-end forecast plus the change's share of the rest of this month against the budget."""
    month_end = forecast if forecast is not None else budget.forecast_month_end
    details: dict[str, Any] = {"scope": budget.scope, "monthly_amount": text(budget.monthly_amount),
                               "monthly_delta": text(change.delta), "month_end_forecast": text(month_end),
                               "forecast_origin": None, "share_of_month_left": None, "projected": None}  # fmt: skip
    if month_end is None:
        return Verdict("budget", False, f"no forecast for {budget.scope}: {source}; set budget.forecast_month_end "
                                        "to gate without the forecast service", details | {"forecast_error": source})  # fmt: skip
    days = calendar.monthrange(today.year, today.month)[1]
    remaining = Decimal(days - today.day + 1) / days
    projected = month_end + change.delta * remaining
    ok = projected <= budget.monthly_amount
    origin = "forecast service" if forecast is not None else "policy file's forecast"
    details |= {"forecast_origin": "forecast_service" if forecast is not None else "policy_file",
                "share_of_month_left": text(remaining.quantize(Decimal("0.0001"))),
                "projected": text(projected.quantize(Decimal("0.01")))}  # fmt: skip
    return Verdict("budget", ok, f"{budget.scope} month-end {money(month_end)} ({origin}) plus this change for the "
                                 f"rest of the month = {money(projected)} (budget {money(budget.monthly_amount)})", details)  # fmt: skip


def instance_types(resource: Resource) -> list[str]:
    found: list[str] = []
    for key in TYPE_ATTRIBUTES:
        value = resource.attributes.get(key)
        if isinstance(value, str) and value:
            found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, str) and v)
    return found


def family_of(instance_type: str) -> str:
    """The family `AllowedInstanceFamilies.allows` judges: m5 of m5.large, r6g of db.r6g.xlarge."""
    return instance_type.removeprefix("db.").removeprefix("cache.").split(".", 1)[0]


def taggable(resource: Resource, priced_types: frozenset[str]) -> bool:
    if "tags" in resource.attributes or "tags_all" in resource.attributes:
        return True
    return resource.type in priced_types and resource.type not in UNTAGGABLE_PRICED


def priced_verdict(change: CostDiff, fail_on_unsupported: bool) -> Verdict:
    failing = [*change.unpriced, *(change.unsupported if fail_on_unsupported else [])]
    details = {"failing": failing, "unpriced": change.unpriced, "unsupported": change.unsupported,
               "fail_on_unsupported": fail_on_unsupported}  # fmt: skip
    if not failing:
        listed = f"; not supported (not failing): {len(change.unsupported)}" if change.unsupported else ""
        return Verdict("priced", True, "every resource of the change is priced" + listed, details)
    shown = "; ".join(failing[:5]) + ("; …" if len(failing) > 5 else "")
    return Verdict("priced", False, f"{len(failing)} cost(s) not in the totals (allow_unpriced accepts them): {shown}",
                   details)  # fmt: skip


def resource_verdicts(policy: GatePolicy, resources: Iterable[Resource]) -> list[Verdict]:
    """Tag and family rules over what the change creates, replaces or updates (untouched resources are not its
    doing)."""
    changed = [r for r in resources if r.action in ("create", "replace", "update")]
    out = []
    tags, families = policy.tags_rule(), policy.families_rule()
    if tags is not None:
        lacking: list[dict[str, Any]] = [
            {"address": r.address, "missing": tags.missing(dict(r.tags))}
            for r in changed
            if taggable(r, PRICED_TYPES) and tags.missing(dict(r.tags))
        ]
        message = "; ".join(f"{e['address']} lacks {', '.join(e['missing'])}" for e in lacking)
        details = {"required": list(tags.keys), "resources": lacking}
        out.append(
            Verdict("required_tags", not lacking, message or f"every resource has {', '.join(tags.keys)}", details)
        )
    if families is not None:
        wrong: list[dict[str, Any]] = [
            {"address": r.address, "instance_type": t, "family": family_of(t)}
            for r in changed
            for t in instance_types(r)
            if not families.allows(t)
        ]
        allowed = ", ".join(families.families)
        message = "; ".join(f"{e['address']} uses {e['instance_type']}" for e in wrong)
        details = {"allowed_families": list(families.families), "resources": wrong}
        out.append(Verdict("allowed_instance_families", not wrong,
                           message + f" (allowed: {allowed})" if wrong else f"all within {allowed}", details))  # fmt: skip
    return out


def evaluate(
    policy: GatePolicy, change: CostDiff, resources: Sequence[Resource], forecast: Decimal | None = None,
    today: date | None = None, forecast_source: str = "not asked",
) -> list[Verdict]:  # fmt: skip
    verdicts = cost_verdicts(policy, change)
    if not policy.allow_unpriced:
        verdicts.append(priced_verdict(change, policy.fail_on_unsupported))
    if policy.budget is not None:
        verdicts.append(budget_verdict(policy.budget, change, forecast, today or date.today(), forecast_source))
    verdicts += resource_verdicts(policy, resources)
    return verdicts
