"""Webhooks (write:webhooks scope): POST /v1/webhooks subscribes a URL to event types with filters and shows the
signing secret this once; GET lists; DELETE removes; GET /{id}/deliveries is the delivery log (and, with
status=dead, the dead-letter list); POST /{id}/deliveries/{delivery_id}/redeliver queues one again; POST /{id}/ping
sends a test event. Signatures: `services/gateway/webhooks/signing.py` (recipe in the README)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from outlay.spread import to_naive_utc
from outlay.store.webhooks import Delivery, Webhook, WebhookStore
from outlay.text import printable
from services.gateway.audit_trail import entry_for, record
from services.gateway.auth import principal_of
from services.gateway.pagination import PAGE_PARAMS, PageAsk, page_of, page_params
from services.gateway.query import Cursor, QueryError
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import ID_PATTERN, PROBLEM_RESPONSES
from services.gateway.webhooks.events import EVENT_TYPES, check_filters, render
from services.gateway.webhooks.ssrf import UnsafeUrl, check_url

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
_ID = Path(description="The webhook's id", max_length=32, pattern=ID_PATTERN)
EventName = Literal["anomaly", "budget_alert", "plan", "policy_violation"]
if set(EventName.__args__) != set(EVENT_TYPES):  # type: ignore[attr-defined]
    raise RuntimeError("webhook event names differ from services.gateway.webhooks.events.EVENT_TYPES")


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="Where to POST (http or https; internal addresses refused)")
    events: list[EventName] = Field(min_length=1, description="anomaly, budget_alert, plan, policy_violation")
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description="anomaly: min_severity, team; budget_alert: budget_id, team; plan: status, region; "
        "policy_violation: kind (lists but min_severity)",
    )
    description: str = Field(default="", max_length=200)
    format: Literal["outlay", "slack", "teams"] = Field(
        default="outlay", description="outlay: the event as JSON, signed; slack: Block Kit; teams: an Adaptive Card"
    )

    _printable = field_validator("url", "description")(printable)


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    events: list[str]
    filters: dict[str, Any]
    description: str
    format: str
    created_at: datetime


class NewWebhookOut(WebhookOut):
    secret: str = Field(description="Signs every delivery (HMAC-SHA256): shown this once")


class WebhooksOut(BaseModel):
    webhooks: list[WebhookOut]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; null at the end")


class DeliveryOut(BaseModel):
    delivery_id: int
    event_type: str
    status: str = Field(description="pending, sending, delivered or dead")
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
    body: dict[str, Any]


class DeliveriesOut(BaseModel):
    deliveries: list[DeliveryOut]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for older deliveries; null at the end")


def _store(request: Request) -> WebhookStore:
    return request.app.state.webhooks  # type: ignore[no-any-return]


def _out(hook: Webhook) -> WebhookOut:
    return WebhookOut(webhook_id=hook.webhook_id, url=hook.url, events=hook.events, filters=hook.filters,
                      description=hook.description, format=hook.format, created_at=hook.created_at)  # fmt: skip


def _delivery(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        delivery_id=d.delivery_id, event_type=d.event_type, status=d.status, attempts=d.attempts,
        next_attempt_at=d.next_attempt_at, last_status_code=d.last_status_code, last_error=d.last_error,
        created_at=d.created_at, delivered_at=d.delivered_at, body=json.loads(d.body),
    )  # fmt: skip


def _subject(hook: Webhook) -> str:
    return f"webhook:{hook.webhook_id}"


def _audited(hook: Webhook) -> str:
    """A webhook as the audit trail keeps it: its URL without path or query (a chat service's incoming-webhook URL
    is itself a secret, and the trail keeps what it is given for good)."""
    parts = urlsplit(hook.url)
    shown = _out(hook).model_copy(update={"url": f"{parts.scheme}://{parts.netloc}/…"})
    return shown.model_dump_json()


async def _found(request: Request, webhook_id: str) -> Webhook:
    hook = await _store(request).get(webhook_id, principal_of(request).tenant_id)
    if hook is None:
        raise HTTPException(404, f"no webhook with id {webhook_id!r}")
    return hook


@router.post("", status_code=201, response_model=NewWebhookOut, responses=PROBLEM_RESPONSES, summary="Subscribe")
async def create_webhook(request: Request, body: WebhookIn) -> NewWebhookOut:
    reject_unknown(request, frozenset())
    events: list[str] = sorted(set(body.events))
    try:
        check_filters(events, body.filters)
        await check_url(body.url, request.app.state.settings.webhook_allow_private)
    except (UnsafeUrl, ValueError) as exc:
        raise HTTPException(422, str(exc)) from None
    hook = await _store(request).create(body.url, events, body.filters, body.description,
                                        principal_of(request).tenant_id, body.format,
                                        entry_for(request, "webhook_created", _subject, _audited))  # fmt: skip
    return NewWebhookOut(**_out(hook).model_dump(), secret=hook.secret)


@router.get("", response_model=WebhooksOut, responses=PROBLEM_RESPONSES, summary="Every webhook (no secrets)")
async def list_webhooks(request: Request, ask: PageAsk = Depends(page_params)) -> WebhooksOut:
    reject_unknown(request, PAGE_PARAMS)
    found = await _store(request).all(principal_of(request).tenant_id)
    page, next_cursor = page_of(found, lambda h: (to_naive_utc(h.created_at), h.webhook_id), ask)
    return WebhooksOut(webhooks=[_out(h) for h in page], next_cursor=next_cursor)


@router.delete("/{webhook_id}", status_code=204, responses=PROBLEM_RESPONSES, summary="Unsubscribe")
async def delete_webhook(request: Request, webhook_id: str = _ID) -> Response:
    reject_unknown(request, frozenset())
    audit = entry_for(request, "webhook_deleted", _subject, _audited)
    if await _store(request).delete(webhook_id, principal_of(request).tenant_id, audit) is None:
        raise HTTPException(404, f"no webhook with id {webhook_id!r}")
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveriesOut,
    responses=PROBLEM_RESPONSES,
    summary="The delivery log, newest first (status=dead: the dead-letter list)",
)
async def list_deliveries(
    request: Request,
    webhook_id: str = _ID,
    status: Literal["pending", "sending", "delivered", "dead"] | None = Query(None),
    limit: int = Query(100, ge=1, le=500, description="Deliveries per page"),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
) -> DeliveriesOut:
    reject_unknown(request, frozenset({"status", "limit", "cursor"}))
    before = None
    if cursor is not None:
        key = Cursor.decode(cursor).key
        if not (key.isascii() and key.isdigit() and len(key) <= 10 and int(key) < 2**31):
            raise QueryError.single("cursor", "not a cursor this API gave out (use next_cursor of the last page)")
        before = int(key)
    hook = await _found(request, webhook_id)
    found = await _store(request).deliveries(hook.webhook_id, hook.tenant_id, status, limit + 1, before)
    page, more = found[:limit], len(found) > limit
    next_cursor = Cursor(to_naive_utc(page[-1].created_at), str(page[-1].delivery_id)).encode() if more else None
    return DeliveriesOut(deliveries=[_delivery(d) for d in page], next_cursor=next_cursor)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    responses=PROBLEM_RESPONSES,
    summary="Queue a dead (or delivered) delivery again, with fresh tries",
)
async def redeliver(request: Request, webhook_id: str = _ID, delivery_id: int = Path(ge=1, lt=2**31)) -> Response:
    reject_unknown(request, frozenset())
    hook = await _found(request, webhook_id)
    if not await _store(request).redeliver(hook.webhook_id, hook.tenant_id, delivery_id, datetime.now(UTC)):
        raise HTTPException(409, f"delivery {delivery_id} of this webhook is not dead or delivered (or not there)")
    await record(request, f"webhook:{webhook_id}", "delivery_redelivered", str(delivery_id))
    return Response(status_code=202)


@router.post("/{webhook_id}/ping", status_code=202, responses=PROBLEM_RESPONSES, summary="Send a test delivery")
async def ping(request: Request, webhook_id: str = _ID) -> Response:
    reject_unknown(request, frozenset())
    hook = await _found(request, webhook_id)
    now = datetime.now(UTC)
    event_id = f"ping-{now.timestamp()}"
    body = json.dumps({"type": "ping", "id": event_id, "data": {"webhook_id": hook.webhook_id}})
    await _store(request).enqueue(
        "ping", [(event_id, None)], lambda h, _: True, lambda h, _: render("ping", h, None, lambda: body), now,
        only=hook.webhook_id,
    )  # fmt: skip
    await record(request, f"webhook:{webhook_id}", "webhook_pinged", event_id)
    return Response(status_code=202)
