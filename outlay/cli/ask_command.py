"""`outlay ask "…"`: a question about cost in plain English.

With OUTLAY_API_URL (or --api-url) it asks the gateway's `POST /v1/ask` with OUTLAY_API_KEY, like `outlay gate`
asks the forecast API: the answer is the caller's tenant's. Without it, it answers from the local store
(DATABASE_URL, or the SQLite file `outlay run` uses) for the default tenant, through the same use case and
the same queries the route runs. Exit code 0: answered; 1: "I can't answer that"; 2: the API or store failed.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from outlay.ask.model import Answer
from outlay.settings import get_settings

TIMEOUT_SECONDS = 60.0


class AskFailed(Exception):
    """The API could not be asked, or refused the question (the message says which)."""


def ask_api(api_url: str, api_key: str, question: str, timeout: float = TIMEOUT_SECONDS) -> Answer:
    url = api_url.rstrip("/") + "/v1/ask"
    try:
        reply = httpx.post(url, json={"question": question}, headers={"Authorization": f"Bearer {api_key}"},
                           timeout=timeout)  # fmt: skip
    except httpx.HTTPError as exc:
        raise AskFailed(f"the API at {url} is not reachable ({type(exc).__name__})") from None
    if reply.status_code != 200:
        try:
            detail = str(reply.json().get("detail", ""))
        except ValueError:
            detail = ""
        raise AskFailed(f"the API at {url} answered {reply.status_code}" + (f": {detail}" if detail else ""))
    return Answer.model_validate(reply.json())


async def ask_local(question: str) -> Answer:
    # Imported here: the API path needs neither the store nor the gateway's modules.
    from outlay.ask.adapters.llm_http import llm_from_settings
    from outlay.ask.service import ask
    from outlay.store.engine import make_engine, upgrade
    from services.gateway.anomalies.store import AnomalyStore
    from services.gateway.costs_query import CostStore
    from services.gateway.routes.ask import StoreData

    settings = get_settings()
    await upgrade(settings.store_url)  # a fresh store answers "no costs" rather than "no such table"
    engine = make_engine(settings.store_url)
    now = datetime.now(UTC)
    try:
        data = StoreData(CostStore(engine), AnomalyStore(engine), settings.api_max_cells, now.replace(tzinfo=None))
        return await ask(question, now, data, llm_from_settings(settings))
    finally:
        await engine.dispose()


def render(answer: Answer, console: Console) -> None:
    console.print(escape(answer.explanation), highlight=False, soft_wrap=True)
    if answer.query is not None:
        console.print(f"[dim]query ({answer.source}): {escape(answer.query.model_dump_json(exclude_defaults=True))}[/]")
    elif answer.understood:
        console.print(f"[dim]understood: {escape(str(answer.understood))}[/]")
    for call in answer.api_calls:
        console.print(f"[dim]GET {escape(call)}[/]")
    if answer.rows:
        labels = list(answer.rows[0].group)
        table = Table()
        for column in (["period"] if answer.rows[0].period_start else []) + labels + ["currency", "kind", "cost"]:
            table.add_column(column, justify="right" if column == "cost" else "left")
        with_change = any(r.change is not None for r in answer.rows)
        if with_change:
            table.add_column("before", justify="right")
            table.add_column("change", justify="right")
        for row in answer.rows:
            cells = ([row.period_start or ""] if answer.rows[0].period_start else []) + [
                str(row.group.get(label) or "(none)") for label in labels
            ]
            cells += [row.currency, row.cost_kind, row.cost]
            if with_change:
                cells += [row.previous or "", row.change or ""]
            table.add_row(*(escape(c) for c in cells))
        console.print(table)
    _render_business(answer, console)


def _figure(text: str) -> str:
    """A decimal figure without its trailing zeros (`60.000000000` -> `60`): exact, and narrow enough for a terminal."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return text
    return format(value.normalize(), "f") if value.is_finite() else text


def _table(columns: list[str], rows: list[list[str]], numeric_from: int) -> Table:
    """A table whose columns from `numeric_from` on are figures (right-aligned, trailing zeros dropped); cells are
    escaped for rich and wrapped, never cut, on a narrow terminal."""
    table = Table()
    for i, column in enumerate(columns):
        table.add_column(column, justify="right" if i >= numeric_from else "left", overflow="fold")
    for row in rows:
        table.add_row(*(escape(_figure(cell) if i >= numeric_from else cell) for i, cell in enumerate(row)))
    return table


def _render_business(answer: Answer, console: Console) -> None:
    """Unit costs and margins, allocation and correlation answers, as the routes behind them give them."""
    if answer.unit_lines:
        periods = any(line.period_start for line in answer.unit_lines)
        columns = (["period"] if periods else []) + [
            "line",
            "currency",
            "cost",
            "per",
            "unit cost",
            "revenue",
            "margin",
        ]
        rows = [
            ([line.period_start or ""] if periods else [])
            + [line.group or f"({line.kind})", line.currency, line.cost, line.driver or "", line.unit_cost or "",
               line.revenue or "", line.gross_margin_pct and f"{line.gross_margin_pct}%" or line.gross_margin or ""]
            for line in answer.unit_lines
        ]  # fmt: skip
        console.print(_table(columns, rows, 3 if periods else 2))
    for total in answer.allocation:
        rows = [[v.value, v.direct, v.shared, v.total] for v in total.values]
        share = "" if total.allocated_share is None else f", {total.allocated_share:.1%} allocated"
        console.print(f"by {escape(total.dimension)} (rules v{total.rules_version}), {escape(total.currency)} "
                      f"{escape(total.cost_kind)}: total {escape(total.total)}{share}")  # fmt: skip
        console.print(_table([total.dimension, "direct", "shared", "total"], rows, 1))
    figures = answer.correlation
    if figures is not None:
        rows = [["days", str(figures.days)],
                ["correlation (Pearson)", "" if figures.pearson is None else f"{figures.pearson:.3f}"],
                ["elasticity", "" if figures.elasticity is None else f"{figures.elasticity:.3f}"],
                ["fixed cost per day", figures.fixed_cost_per_day or ""],
                ["fixed share", "" if figures.fixed_share is None else f"{figures.fixed_share:.1%}"]]  # fmt: skip
        console.print(_table([f"cost against {figures.driver}", "figure"], rows, 1))


def run_ask(question: str, api_url: str | None, fmt: str, console: Console, err: Console) -> int:
    try:
        if api_url:
            answer = ask_api(api_url, os.environ.get("OUTLAY_API_KEY", ""), question)
        else:
            answer = asyncio.run(ask_local(question))
    except AskFailed as exc:
        err.print(f"[red]{escape(str(exc))}[/]", highlight=False, soft_wrap=True)
        return 2
    except Exception as exc:  # the store or the API failed in a way of its own: still exit 2, never 1 ("cannot answer")
        err.print(f"[red]{escape(type(exc).__name__)}: {escape(str(exc))}[/]", highlight=False, soft_wrap=True)
        return 2
    if fmt == "json":
        print(answer.model_dump_json(indent=2))  # plain stdout, to pipe
    else:
        render(answer, console)
    return 0 if answer.answered else 1
