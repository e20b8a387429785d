"""What a webhook can subscribe to, how each event is rendered as a delivery body, and the filters per type.

- `anomaly` (outlay.anomalies.v1, alerted updates only): filters `min_severity` (low | medium | high | critical)
  and `team` (a list: the series or its root cause names the team's tag);
- `budget_alert` (outlay.budget_alerts.v1): filters `budget_id` and `team` (lists; team: a budget on that team's tag);
- `plan` (outlay.plans.v1): filters `status` and `region` (lists);
- `policy_violation` (outlay.policy_violations.v1): filter `kind` (a list of policy kinds).

A body is `{"type": ..., "id": ..., "data": {...}}`: `data` is the same JSON the REST API and the WebSocket give;
webhooks in `slack` or `teams` format get a chat message instead (`chat.py`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from outlay.events import CostAnomaly
from outlay.events.budget_alert import BudgetAlert
from outlay.events.plan import PlanStatus
from outlay.events.topics import ANOMALIES, BUDGET_ALERTS, PLANS, POLICY_VIOLATIONS, Topic
from outlay.scopes import TAG_PREFIX, scope_name
from outlay.store.webhooks import Webhook
from services.gateway.anomalies.listing import SEVERITY_ORDER
from services.gateway.anomalies.render import anomaly_json
from services.gateway.webhooks import chat

SEVERITIES = tuple(s.value for s in SEVERITY_ORDER)
PLAN_STATUSES = frozenset(s.value for s in PlanStatus)


@dataclass(frozen=True)
class EventType:
    name: str
    topic: Topic
    event_id: Callable[[Any], str]
    render: Callable[[Any], dict[str, Any]]
    accepts: Callable[[dict[str, Any], Any], bool]  # (filters, event)
    filters: tuple[str, ...]
    wanted: Callable[[Any], bool] = lambda event: True  # events never delivered (unalerted anomalies)
    # What makes two events the same delivery: by default the whole body (each update of an anomaly or plan is
    # news); a violation found again by the next scan the same day is the same news (a reminder a day after).
    same: Callable[[Any], str] | None = None


def _in(filters: dict[str, Any], name: str, value: str) -> bool:
    allowed = filters.get(name)
    return allowed is None or value in allowed


def _severe_enough(filters: dict[str, Any], anomaly: CostAnomaly) -> bool:
    floor = filters.get("min_severity", "low")
    return SEVERITIES.index(anomaly.severity.value) >= SEVERITIES.index(floor) and _anomaly_team(filters, anomaly)


def _anomaly_team(filters: dict[str, Any], anomaly: CostAnomaly) -> bool:
    """Routing by team: the anomaly's series or its root cause names one of the teams (tag team)."""
    teams = filters.get("team")
    if teams is None:
        return True
    named = {anomaly.dimensions.get("tag:team")} | {c.split("=", 1)[1] for c in anomaly.root_cause
                                                     if c.startswith("tag:team=")}  # fmt: skip
    return bool(named & set(teams))


def _budget_team(filters: dict[str, Any], alert: BudgetAlert) -> bool:
    """Routing by team: the budget's scope is one of the teams' (`tag:team=<team>`)."""
    teams = filters.get("team")
    return teams is None or alert.scope in {scope_name({f"{TAG_PREFIX}team": t}) for t in teams}


EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in (
        EventType(
            "anomaly",
            ANOMALIES,
            lambda a: a.anomaly_id,
            anomaly_json,
            _severe_enough,
            ("min_severity", "team"),
            wanted=lambda a: a.alerted,
        ),  # fmt: skip
        EventType(
            "budget_alert",
            BUDGET_ALERTS,
            lambda a: a.alert_id,
            lambda a: a.model_dump(mode="json"),
            lambda f, a: _in(f, "budget_id", a.budget_id) and _budget_team(f, a),
            ("budget_id", "team"),
        ),  # fmt: skip
        EventType(
            "plan",
            PLANS,
            lambda p: p.plan_id,
            lambda p: p.model_dump(mode="json"),
            lambda f, p: _in(f, "status", p.status.value) and _in(f, "region", p.region),
            ("status", "region"),
        ),  # fmt: skip
        EventType(
            "policy_violation",
            POLICY_VIOLATIONS,
            lambda v: v.violation_id,
            lambda v: v.model_dump(mode="json"),
            lambda f, v: _in(f, "kind", v.kind),
            ("kind",),
            same=lambda v: f"{v.violation_id}|{v.observed_at:%Y-%m-%d}",  # a standing violation: once a day
        ),  # fmt: skip
    )
}


def check_filters(events: list[str], filters: dict[str, Any]) -> None:
    """ValueError naming the filter that is wrong for the chosen event types."""
    allowed = {f for e in events for f in EVENT_TYPES[e].filters}
    for name, value in filters.items():
        if name not in allowed:
            raise ValueError(
                f"filters.{name}: not a filter of {', '.join(events)} (filters: {', '.join(sorted(allowed))})"
            )
        if name == "min_severity":
            if value not in SEVERITIES:
                raise ValueError(f"filters.min_severity: must be one of {', '.join(SEVERITIES)}")
        elif not (isinstance(value, list) and value and all(isinstance(v, str) and v.isprintable() for v in value)):
            raise ValueError(f"filters.{name}: must be a non-empty list of names")
        elif name == "status" and not set(value) <= PLAN_STATUSES:
            raise ValueError(f"filters.status: must be among {', '.join(sorted(PLAN_STATUSES))}")


def body_of(kind: EventType, event: BaseModel) -> str:
    return json.dumps({"type": kind.name, "id": kind.event_id(event), "data": kind.render(event)}, sort_keys=True)


def dedupe_key(kind: EventType, event: BaseModel) -> str:
    """The same update of the same event is one delivery per webhook."""
    if kind.same is not None:
        return hashlib.sha256(f"{kind.name}|{kind.same(event)}".encode()).hexdigest()[:64]
    return hashlib.sha256(body_of(kind, event).encode()).hexdigest()[:64]


FORMATS = ("outlay", "slack", "teams")


def render(kind_name: str, hook: Webhook, event: Any, outlay_body: Callable[[], str]) -> str:
    """The body a webhook of this format gets."""
    if hook.format == "slack":
        return json.dumps(chat.slack(kind_name, event))
    if hook.format == "teams":
        return json.dumps(chat.teams(kind_name, event))
    return outlay_body()


def renderer(kind: EventType) -> Callable[[Webhook, Any], str]:
    return lambda hook, event: render(kind.name, hook, event, lambda: body_of(kind, event))


def accepts(kind: EventType) -> Callable[[Webhook, Any], bool]:
    return lambda hook, event: kind.accepts(hook.filters, event)
