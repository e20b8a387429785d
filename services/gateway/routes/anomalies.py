"""GET /v1/anomalies, GET /v1/anomalies/{id} and POST /v1/anomalies/{id}/feedback."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from outlay.events import AnomalyFeedback, FeedbackVerdict
from services.gateway.anomalies.listing import DEFAULT_LIMIT, MAX_LIMIT, parse_anomaly_query
from services.gateway.anomalies.store import AnomalyStore, StoredAnomaly
from services.gateway.audit_trail import entry_for
from services.gateway.auth import requires
from services.gateway.event_sender import EventSender, Undelivered
from services.gateway.permissions import Scope
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import ID_PATTERN, PROBLEM_RESPONSES, AnomalyOut, AnomalyPageOut
from services.gateway.tenant_stores import stores_of

router = APIRouter(prefix="/v1/anomalies", tags=["anomalies"])

LIST_PARAMS = frozenset(
    {"status", "series", "direction", "min_severity", "alerted", "since", "until", "limit", "cursor"}
)
_ID = Path(description="The anomaly's id (stable across its updates)", max_length=64, pattern=ID_PATTERN)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: FeedbackVerdict = Field(
        description="true_positive: keep alerting like this; false_positive: alert less readily on this series; "
        "planned: an intended change, its new level is normal and is not alerted again"
    )


def _store(request: Request) -> AnomalyStore:
    return stores_of(request).anomalies


def _sender(request: Request) -> EventSender:
    return request.app.state.events  # type: ignore[no-any-return]


def _not_found(anomaly_id: str) -> HTTPException:
    return HTTPException(404, f"no anomaly with id {anomaly_id!r}")


@router.get("", response_model=AnomalyPageOut, responses=PROBLEM_RESPONSES, summary="Cost anomalies, newest first")
async def list_anomalies(
    request: Request,
    status: str | None = Query(None, description="open, closed or any (default any)"),
    series: list[str] = Query(default=[], description="Keep only these series (repeat for OR)"),
    direction: str | None = Query(None, description="spike or drop"),
    min_severity: str | None = Query(None, description="low, medium, high or critical (default low)"),
    alerted: str | None = Query(None, description="true: alerted only; false: recorded only (under minimum impact)"),
    since: str | None = Query(None, description="Started at or after this ISO 8601 date or datetime (UTC default)"),
    until: str | None = Query(None, description="Started before this ISO 8601 date or datetime"),
    limit: str | None = Query(None, description=f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
) -> dict[str, Any]:
    reject_unknown(request, LIST_PARAMS)
    query = parse_anomaly_query(
        status=status,
        series=series,
        direction=direction,
        min_severity=min_severity,
        alerted=alerted,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    return (await _store(request).page(query)).to_json()


@router.get("/{anomaly_id}", response_model=AnomalyOut, responses=PROBLEM_RESPONSES, summary="One cost anomaly")
async def get_anomaly(request: Request, anomaly_id: str = _ID) -> dict[str, Any]:
    stored = await _store(request).get(anomaly_id)
    if stored is None:
        raise _not_found(anomaly_id)
    return stored.to_json()


def _subject(stored: StoredAnomaly) -> str:
    return f"anomaly:{stored.anomaly.anomaly_id}"


@router.post(
    "/{anomaly_id}/feedback",
    dependencies=[Depends(requires(Scope.WRITE_ANOMALIES))],
    response_model=AnomalyOut,
    responses=PROBLEM_RESPONSES,
    summary="Judge an anomaly: changes how its series alerts from now on",
)
async def give_feedback(request: Request, body: FeedbackIn, anomaly_id: str = _ID) -> dict[str, Any]:
    store = _store(request)
    stored = await store.get(anomaly_id)
    if stored is None:
        raise _not_found(anomaly_id)
    given_at = datetime.now(UTC)
    feedback = AnomalyFeedback(
        anomaly_id=anomaly_id, series=stored.anomaly.series, verdict=body.verdict, given_at=given_at,
        tenant_id=store.tenant_id,
    )  # fmt: skip
    try:
        # The detector first: a verdict the detector never hears of must not show as recorded.
        await _sender(request).send(feedback)
    except Undelivered as exc:
        raise HTTPException(503, f"the verdict was not recorded: {exc}", headers={"Retry-After": "5"}) from exc
    before = stored.anomaly.feedback.value if stored.anomaly.feedback is not None else "none"
    change = f"{before} -> {body.verdict.value}"
    audit = entry_for(request, "verdict_given", _subject, lambda _: change)
    updated = await store.record_feedback(anomaly_id, body.verdict, given_at, audit)
    if updated is None:
        raise _not_found(anomaly_id)
    return updated.to_json()
