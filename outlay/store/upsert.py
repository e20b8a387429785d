"""INSERT … ON CONFLICT for the store's two dialects, so every idempotent sink writes through one helper."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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


async def upsert(
    conn: AsyncConnection,
    table: Any,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    replace: Iterable[str],
    chunk: int = 500,
) -> None:
    """Insert `rows` into `table`; a row whose `keys` are stored already replaces that row's `replace` columns.
    Written `chunk` rows a statement (SQLite caps the variables of one statement)."""
    replaced = tuple(replace)
    for i in range(0, len(rows), chunk):
        stmt = dialect_insert(conn, table)
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in replaced})
        await conn.execute(stmt, list(rows[i : i + chunk]))
