"""Chat messages for webhooks whose format is `slack` (Block Kit, for Slack incoming webhooks) or `teams` (an
Adaptive Card 1.4 in a message, for Microsoft Teams incoming webhooks / workflows): a title, the facts that
matter, and a line of context, for anomalies, budget alerts and plans that wait for an approval."""

from __future__ import annotations

import re
from typing import Any

from outlay.events import CostAnomaly
from outlay.events.budget_alert import BudgetAlert
from outlay.events.plan import ActionPlan
from outlay.events.policy import PolicyViolation

Facts = list[tuple[str, str]]


def _money(value: object, currency: str) -> str:
    return f"{value} {currency}"


def summary(kind: str, event: Any) -> tuple[str, Facts, str]:
    """(title, facts, context) of one event, the same for every chat format."""
    if kind == "anomaly":
        a: CostAnomaly = event
        state = "ongoing" if a.end is None else f"ended {a.end:%Y-%m-%d %H:%M} UTC"
        title = f"{a.severity.value.capitalize()} cost {a.direction.value}: {a.series}"
        facts = [
            ("Expected", _money(a.expected_cost, a.currency)),
            ("Actual", _money(a.actual_cost, a.currency)),
            ("Impact so far", _money(a.impact, a.currency)),
            ("Since", f"{a.start:%Y-%m-%d %H:%M} UTC ({state})"),
        ]
        return title, facts, "Root cause: " + (", ".join(a.root_cause) or "not found") + f" · anomaly {a.anomaly_id}"
    if kind == "budget_alert":
        b: BudgetAlert = event
        facts = [
            ("Budget", _money(b.amount, b.currency)),
            ("Spent so far", _money(b.actual_to_date, b.currency)),
            (
                "Forecast for the period",
                "not forecast" if b.forecast_total is None else _money(b.forecast_total, b.currency),
            ),
            ("Threshold", f"{b.percent}% of the budget, on {b.basis.value}"),
        ]
        return f"Budget {b.budget_name}: {b.summary}", facts, f"scope {b.scope} · {b.period_start} to {b.period_end}"
    if kind == "plan":
        p: ActionPlan = event
        facts = [
            ("Saves", _money(p.monthly_saving, p.currency) + " a month"),
            ("Risk", p.risk.value),
            ("Status", p.status.value),
            ("Changes", str(len(p.changes))),
        ]
        why = "; ".join(p.approval_reasons) or p.reason or "no approval needed"
        verb = "waits for an approval" if p.status.value == "proposed" and p.requires_approval else p.status.value
        return f"Plan {verb}: {p.title}", facts, f"{why} · plan {p.plan_id}"
    if kind == "policy_violation":
        v: PolicyViolation = event
        facts = [("Policy", f"{v.policy_name} ({v.kind})"), ("Subject", v.subject), ("Found by", v.evaluated_by)]
        return f"Policy broken: {v.detail}", facts, f"{v.observed_at:%Y-%m-%d %H:%M} UTC · violation {v.violation_id}"
    return "Outlay test delivery", [], "If you read this, the webhook works."


def slack_text(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally: its three control characters escaped, so a series name or tag
    value cannot mention `<!channel>` or make a link (api.slack.com, "Formatting text for app surfaces")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(kind: str, event: Any) -> dict[str, Any]:
    title, facts, context = summary(kind, event)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    if facts:
        fields = [{"type": "mrkdwn", "text": f"*{slack_text(k)}*\n{slack_text(v)}"} for k, v in facts[:10]]
        blocks.append({"type": "section", "fields": fields})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_text(context)[:3000]}]})
    return {"text": slack_text(title), "blocks": blocks}


# Markdown's punctuation, escaped with a backslash where Teams renders markdown (FactSet values), so a tag value
# cannot make a link or emphasis (CommonMark backslash escapes).
_MARKDOWN = re.compile(r"([\\`*_\[\]()<>~])")


def teams_text(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def _plain(text: str, **style: Any) -> dict[str, Any]:
    """Text shown as it is: a TextRun is never read as markdown (unlike a TextBlock)."""
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def teams(kind: str, event: Any) -> dict[str, Any]:
    title, facts, context = summary(kind, event)
    body: list[dict[str, Any]] = [_plain(title, weight="Bolder", size="Medium")]
    if facts:
        body.append({"type": "FactSet", "facts": [{"title": k, "value": teams_text(v)} for k, v in facts]})
    body.append(_plain(context, isSubtle=True, size="Small"))
    card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
            "version": "1.4", "body": body}  # fmt: skip
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                "contentUrl": None, "content": card}]}  # fmt: skip
