"""The async engine and schema migration entry point."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

STORE_DIR = Path(__file__).resolve().parent


def make_engine(url: str, **kwargs: object) -> AsyncEngine:
    engine = create_async_engine(url, **kwargs)  # type: ignore[arg-type]
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=10000")
            # WAL: readers (gateway) alongside the ledger writer. Switching takes an exclusive lock that
            # two connections converting at once can deadlock on, so switch only when not yet in WAL.
            cur.execute("PRAGMA journal_mode")
            if cur.fetchone()[0] != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config(str(STORE_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(STORE_DIR / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_sync(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Run migrations to `revision` (head by default). Safe to call on every start."""
    await asyncio.to_thread(upgrade_sync, url, revision)
