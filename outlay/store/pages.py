"""Newest-first keyset pages, the one way stores list things a page at a time.

A page is ordered by (time, id) descending and continues strictly after the (time, id) of the last item the caller
saw, so items arriving meanwhile never shift or repeat the next page. One row more than asked for is read to know
whether another page follows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import InstrumentedAttribute

from outlay.spread import to_naive_utc

T = TypeVar("T")
SortKey = tuple[datetime, str]  # (time as stored: naive UTC, id)


async def newest_first(
    engine: AsyncEngine,
    stmt: Select[Any],
    at: InstrumentedAttribute[datetime],
    key: InstrumentedAttribute[str],
    limit: int,
    after: SortKey | None,
    item: Callable[[Mapping[Any, Any]], T],
) -> tuple[list[T], SortKey | None]:
    """Up to `limit` items of `stmt` (already filtered) newest first after `after`, and the sort key to continue
    from (None: this was the last page)."""
    if after is not None:
        when, last = to_naive_utc(after[0]), after[1]
        stmt = stmt.where(or_(at < when, and_(at == when, key < last)))
    stmt = stmt.order_by(at.desc(), key.desc()).limit(limit + 1)
    async with engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    found = [item(row._mapping) for row in rows[:limit]]
    if len(rows) <= limit:
        return found, None
    last_row = rows[limit - 1]._mapping
    return found, (last_row[at.key], last_row[key.key])
