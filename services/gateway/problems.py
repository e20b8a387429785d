"""Errors as RFC 9457 problem details: {type, title, status, detail, errors: [{field, message}]}.

Every failure the API can produce goes through here, so clients parse one error shape, and a bad
request is always a 4xx naming the parameter, never a 500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.gateway.forecasts.client import ForecastUnavailable
from services.gateway.query import FieldError, QueryError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# Problem types are URNs: stable identifiers that do not pretend to be a page someone can open.
PROBLEM_BASE = "urn:outlay:problem:"


def problem(status: int, detail: str, errors: Sequence[FieldError] = (), kind: str | None = None) -> JSONResponse:
    title = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (kind or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field_of(loc: Sequence[str | int]) -> str:
    # FastAPI locations look like ("query", "granularity") or ("body", "x", 0); the first item is the
    # part of the request, the rest is the field path a client recognises.
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [FieldError(_field_of(err.get("loc", ())), str(err.get("msg", "invalid"))) for err in exc.errors()]
    return problem(422, _summary(errors), errors, kind="invalid-parameters")


async def _query_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QueryError)
    return problem(422, _summary(exc.errors), exc.errors, kind="invalid-parameters")


# A route's own 422 says "field: what is wrong"; that field becomes the problem's `errors`, as for every other 422.
_NAMED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*): (.+)$", re.DOTALL)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = str(exc.detail)
    named = _NAMED.match(detail) if exc.status_code == 422 else None
    if named is not None:
        return problem(422, detail, [FieldError(named.group(1), named.group(2))], kind="invalid-parameters")
    response = problem(exc.status_code, detail)
    if exc.headers:  # e.g. WWW-Authenticate on a 401
        response.headers.update(exc.headers)
    return response


def _refused_value(exc: Exception) -> bool:
    """The store refused a value itself (SQLSTATE class 22, data exception), whichever way the driver says so:
    asyncpg's errors reach SQLAlchemy as plain DBAPIErrors carrying the SQLSTATE."""
    if isinstance(exc, DataError):
        return True
    cause: BaseException | None = getattr(exc, "orig", None)
    for _ in range(3):
        if cause is None:
            return False
        state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if isinstance(state, str):
            return state.startswith("22")
        cause = cause.__cause__
    return False


async def _store_unavailable(_: Request, exc: Exception) -> JSONResponse:
    # The store refused the data itself (a value it cannot hold, a conflict): the request's fault, not worth a retry.
    if _refused_value(exc):
        log.warning("the store refused a value: %s", type(exc).__name__)
        return problem(422, "a value in the request cannot be stored (control characters, or out of range)")
    if isinstance(exc, IntegrityError):
        log.error("unexpected conflict in the store: %s", exc)  # the expected ones are answered by the stores
        return problem(409, "the request conflicts with what is stored")
    # Otherwise the request was fine and the store was not (down, or not migrated yet). Clients may retry.
    log.error("store error: %s", exc)
    response = problem(503, "the store could not answer; try again shortly", kind="store-unavailable")
    response.headers["Retry-After"] = "5"
    return response


async def _forecast_unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.error("forecast service error: %s", exc)
    response = problem(503, "the forecast service could not answer; try again shortly", kind="forecast-unavailable")
    response.headers["Retry-After"] = "5"
    return response


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "the server failed to answer; the error has been logged")


def _summary(errors: Sequence[FieldError]) -> str:
    fields = ", ".join(dict.fromkeys(e.field for e in errors))
    return f"invalid parameter(s): {fields}" if fields else "invalid request"


def document_problem_media_type(openapi: dict[str, Any]) -> dict[str, Any]:
    """Move error bodies documented as application/json to application/problem+json, in place.

    FastAPI documents a `responses={...: {"model": Problem}}` entry under the route's own media type;
    the handlers above send problem+json, and the document must say what is actually sent.
    """
    problem_ref = "#/components/schemas/Problem"
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue  # path-level `parameters` or `summary`
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                json_body = content.get("application/json")
                if json_body is not None and json_body.get("schema", {}).get("$ref") == problem_ref:
                    content[PROBLEM_JSON] = content.pop("application/json")
    return openapi


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(QueryError, _query_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _store_unavailable)
    app.add_exception_handler(ConnectionError, _store_unavailable)
    app.add_exception_handler(ForecastUnavailable, _forecast_unavailable)
    app.add_exception_handler(Exception, _unexpected)

    generate = app.openapi  # builds once, then returns FastAPI's cached document

    def openapi() -> dict[str, Any]:
        return document_problem_media_type(generate())

    app.openapi = openapi  # type: ignore[method-assign]
