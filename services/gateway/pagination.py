"""Cursor pages of the short lists (budgets, webhooks, people, keys, policies, organisations, recommendations).

These lists are read whole from their store (they hold hundreds of entries, not millions) and cut into pages here,
in a stable order: each item's sort key is (an instant, a text), the cursor names the last item of a page, and the
next page starts after it, so items added or removed meanwhile never shift or repeat a page. The long lists (usage,
anomalies, plans, the audit trail, deliveries) page in their stores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from fastapi import Query

from services.gateway.query import Cursor, ErrorCollector, QueryError, parse_int_in

DEFAULT_PAGE, MAX_PAGE = 100, 500
T = TypeVar("T")
SortKey = tuple[datetime, str]


@dataclass(frozen=True)
class PageAsk:
    limit: int
    after: SortKey | None


def page_params(
    limit: str | None = Query(None, description=f"Page size, 1 to {MAX_PAGE} (default {DEFAULT_PAGE})"),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
) -> PageAsk:
    """A route dependency: the page asked for; a 422 naming `limit` or `cursor` when they are malformed."""
    check = ErrorCollector()
    size = check.attempt(lambda: parse_int_in(limit, 1, MAX_PAGE, DEFAULT_PAGE, "limit"))
    after = check.attempt(lambda: None if cursor is None else Cursor.decode(cursor))
    if check.errors or size is None:
        raise QueryError(check.errors)
    return PageAsk(size, None if after is None else (after.at, after.key))


PAGE_PARAMS = frozenset({"limit", "cursor"})


def page_of(items: Sequence[T], key: Callable[[T], SortKey], ask: PageAsk) -> tuple[list[T], str | None]:
    """The page of `items` after the cursor, in `key` order, and the cursor of the next page (None: the last)."""
    ordered = sorted(items, key=key)
    if ask.after is not None:
        after = ask.after
        ordered = [item for item in ordered if key(item) > after]
    page = ordered[: ask.limit]
    if len(ordered) <= ask.limit:
        return page, None
    at, last = key(page[-1])
    return page, Cursor(at, last).encode()
