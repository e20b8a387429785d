"""INSERT … ON CONFLICT for the store's two dialects, so every idempotent sink writes through one helper."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def dialect_insert(conn: AsyncConnection, table: Any) -> Any:
    """The dialect's INSERT construct for `table` (it has `on_conflict_do_nothing/_update` and `excluded`)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported store dialect {conn.dialect.name!r}")
