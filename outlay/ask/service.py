"""The use case: a question in, an `Answer` out. Its I/O comes in as ports, so it runs the same behind the
gateway route (the caller's tenant's stores) and in the CLI (the local store); it holds no I/O of its own."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal, Protocol

from outlay.ask.answer import explain, figures
from outlay.ask.api import ApiRequest, business_request, requests_for
from outlay.ask.business_answer import (
    allocation_totals,
    correlation_figures,
    explain_allocation,
    explain_correlation,
    explain_unit,
    unit_lines,
)
from outlay.ask.llm import (
    SYSTEM,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    LlmClient,
    LlmInvalid,
    read_reply,
    tool_schema,
    user_message,
)
from outlay.ask.model import UNIT_KINDS, Answer, QueryKind, StructuredQuery
from outlay.ask.parser import CannotAnswer, understand
from outlay.ask.validate import problems
from outlay.ask.vocabulary import Vocabulary

log = logging.getLogger(__name__)
CANNOT = "I can't answer that"
Source = Literal["offline", "llm"]


class Refused(Exception):
    """The API refused a request the query made (e.g. too many rows): the question cannot be answered as asked."""


class CostData(Protocol):
    """The public API, for one tenant: its vocabulary, `GET /v1/costs` bodies and `GET /v1/anomalies` items, and
    the bodies of `GET /v1/unit-costs`, `GET /v1/unit-economics/correlation` and `GET /v1/allocation` (`business`,
    for any of those three paths). Every method raises `Refused` when the API refuses the request."""

    async def vocabulary(self) -> Vocabulary: ...

    async def costs(self, request: ApiRequest) -> dict[str, Any]: ...

    async def anomalies(self, request: ApiRequest) -> list[dict[str, Any]] | None:
        """The items, or None when the caller may not read anomalies."""
        ...

    async def business(self, request: ApiRequest) -> dict[str, Any]: ...


async def ask(question: str, now: datetime, data: CostData, llm: LlmClient | None = None) -> Answer:
    vocabulary = await data.vocabulary()
    notes: list[str] = []
    source: Source = "offline"
    result: StructuredQuery | CannotAnswer | None = None
    if llm is not None:
        try:
            payload = await llm.call_tool(
                SYSTEM, user_message(question, now, vocabulary), TOOL_NAME, TOOL_DESCRIPTION, tool_schema()
            )
            result, source = read_reply(payload, vocabulary), "llm"
        except LlmInvalid as exc:
            # The reason names what was wrong with the reply, never the key or the request's headers.
            log.warning("LLM reply not used, falling back to the offline parser: %s", exc)
            notes.append(f"the LLM's reply was not used ({exc}); the offline parser read the question")
    if result is None:
        result, defaults = understand(question, now, vocabulary)
        notes.extend(defaults)
    if isinstance(result, CannotAnswer):
        return Answer(
            question=question, answered=False, explanation=f"{CANNOT}: {result.reason}.", source=source,
            understood=result.understood, notes=notes,
        )  # fmt: skip
    found = problems(result, vocabulary)
    if found:  # the parser checks as it reads; this guards every path the same way
        understood = result.model_dump(mode="json")
        return Answer(question=question, answered=False, explanation=f"{CANNOT}: {'; '.join(found)}.", source=source,
                      understood=understood, notes=notes)  # fmt: skip
    return await run(question, result, data, source, notes)


async def run(question: str, query: StructuredQuery, data: CostData, source: Source, notes: list[str]) -> Answer:
    """Run a valid query through the API and say what the numbers are."""
    if query.kind is not QueryKind.COST:
        return await run_business(question, query, data, source, notes)
    now_request, before_request, anomaly_request = requests_for(query)
    calls = [r.url() for r in (now_request, before_request, anomaly_request) if r is not None]
    try:
        current = await data.costs(now_request)
        previous = None if before_request is None else await data.costs(before_request)
        anomalies = None if anomaly_request is None else await data.anomalies(anomaly_request)
    except Refused as exc:
        return Answer(
            question=question, answered=False, explanation=f"{CANNOT}: the API refused the query ({exc}).",
            source=source, understood=query.model_dump(mode="json"), api_calls=calls, notes=notes,
        )  # fmt: skip
    if anomaly_request is not None and anomalies is None:
        notes.append("this API key may not read anomalies (read:anomalies): only the cost comparison is shown")
    totals, rows = figures(query, current, previous)
    return Answer(
        question=question,
        answered=True,
        explanation=explain(query, totals, rows, anomalies, notes),
        source=source,
        query=query,
        totals=totals,
        rows=rows,
        anomalies=anomalies or [],
        api_calls=calls,
        notes=notes,
    )


async def run_business(
    question: str, query: StructuredQuery, data: CostData, source: Source, notes: list[str]
) -> Answer:
    """A unit-cost, gross-margin, correlation or allocation query: one request to its route, its figures shown."""
    request = business_request(query)
    calls = [request.url()]
    try:
        body = await data.business(request)
    except Refused as exc:
        return Answer(
            question=question, answered=False, explanation=f"{CANNOT}: the API refused the query ({exc}).",
            source=source, understood=query.model_dump(mode="json"), api_calls=calls, notes=notes,
        )  # fmt: skip
    answer = Answer(question=question, answered=True, explanation="", source=source, query=query, api_calls=calls,
                    notes=notes)  # fmt: skip
    if query.kind in UNIT_KINDS:
        answer.unit_lines = unit_lines(query, body)
        answer.explanation = explain_unit(query, body, answer.unit_lines, notes)
    elif query.kind is QueryKind.CORRELATION:
        answer.correlation = correlation_figures(body)
        answer.explanation = explain_correlation(query, answer.correlation, notes)
    else:
        answer.allocation = allocation_totals(query, body)
        answer.explanation = explain_allocation(query, body, answer.allocation, notes)
    return answer
