"""Signing in with a password: people's password hashes, the one-time tokens that set them, and browser sessions.

Secrets (set-password tokens, session tokens) have 256 random bits and are stored only as SHA-256 digests, like API
keys: a fast digest is safe for them, and a stolen table holds nothing that signs anyone in. Passwords are stored as
salted scrypt hashes (`outlay.passwords`).

The store is bound to one tenant like every other; the calls that start from a presented secret or an e-mail
(`login_candidates`, `set_password`, `session`, `end_session`) look across tenants, since the secret or the e-mail
is what says whose it is (as `ApiKeyStore.verify` does).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from outlay.spread import to_naive_utc
from outlay.store.models import PasswordTokenRow, SessionRow, UserPasswordRow, UserRow
from outlay.store.tenant_scope import TenantScoped

TOKEN_PREFIX = "olp"  # set-password tokens read "olp_<secret>": recognisable in a leaked-secrets scan
TOKEN_TTL = timedelta(days=3)  # time enough for an invitation to be read; short enough that a lost one goes stale
SESSION_IDLE = timedelta(hours=12)  # a session unused this long ends (a working day and then some)
SESSION_MAX = timedelta(days=7)  # and every session ends this long after sign-in, used or not
TOUCH_EVERY = timedelta(minutes=1)  # last use is written at most this often: idle time is exact to the minute


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """An active person with a password whose e-mail matched a sign-in."""

    tenant_id: str
    user_id: str
    password_hash: str


@dataclass(frozen=True)
class StoredSession:
    session_id: str
    tenant_id: str
    user_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute end

    def idle_until(self, idle: timedelta = SESSION_IDLE) -> datetime:
        """When it ends unless used before: the idle limit, or its absolute end if sooner."""
        return min(self.last_seen_at + idle, self.expires_at)


def _session(row: Mapping[Any, Any]) -> StoredSession:
    return StoredSession(
        row["session_id"], row["tenant_id"], row["user_id"], _aware(row["created_at"]), _aware(row["last_seen_at"]),
        _aware(row["expires_at"]),
    )  # fmt: skip


class SignInStore(TenantScoped):
    """One tenant's passwords, set-password tokens and sessions (and the cross-tenant look-ups sign-in needs)."""

    # --- bound to the tenant: what its admins do -----------------------------------------------------------------

    async def issue_password_token(
        self, user_id: str, created_by: str, now: datetime, ttl: timedelta = TOKEN_TTL, issued_by: str = ""
    ) -> tuple[str, datetime]:
        """A one-time token that lets `user_id` set their password, and when it stops working. Any earlier unused
        token of theirs stops working now: only the newest one an admin handed out counts."""
        secret = f"{TOKEN_PREFIX}_{secrets.token_urlsafe(32)}"
        expires = now + ttl
        async with self._engine.begin() as conn:
            await conn.execute(
                update(PasswordTokenRow)
                .where(self._mine(PasswordTokenRow), PasswordTokenRow.user_id == user_id,
                       PasswordTokenRow.used_at.is_(None))
                .values(expires_at=to_naive_utc(now))
            )  # fmt: skip
            await conn.execute(
                insert(PasswordTokenRow).values(
                    token_sha256=digest(secret), tenant_id=self.tenant_id, user_id=user_id,
                    created_by=created_by[:200], issued_by=issued_by[:200], created_at=to_naive_utc(now),
                    expires_at=to_naive_utc(expires),
                    used_at=None,
                )
            )  # fmt: skip
        return secret, expires

    async def with_password(self, user_ids: list[str]) -> set[str]:
        """Which of these people have a password."""
        if not user_ids:
            return set()
        stmt = select(UserPasswordRow.user_id).where(self._mine(UserPasswordRow), UserPasswordRow.user_id.in_(user_ids))
        async with self._engine.connect() as conn:
            return {u for (u,) in await conn.execute(stmt)}

    async def known_to(self, user_id: str) -> str | None:
        """Who issued the token `user_id`'s password was set with (an identity), if anyone is recorded."""
        stmt = select(UserPasswordRow.known_to).where(self._mine(UserPasswordRow), UserPasswordRow.user_id == user_id)
        async with self._engine.connect() as conn:
            found = (await conn.execute(stmt)).scalar()
        return found or None

    async def start_session(
        self, user_id: str, now: datetime, max_age: timedelta = SESSION_MAX
    ) -> tuple[StoredSession, str]:
        """A new session of `user_id`, and its token: returned this once (for the cookie), stored as a digest."""
        token = secrets.token_urlsafe(32)
        columns = {
            "token_sha256": digest(token), "session_id": secrets.token_hex(8), "tenant_id": self.tenant_id,
            "user_id": user_id, "created_at": to_naive_utc(now), "last_seen_at": to_naive_utc(now),
            "expires_at": to_naive_utc(now + max_age), "revoked_at": None,
        }  # fmt: skip
        async with self._engine.begin() as conn:
            await conn.execute(insert(SessionRow).values(**columns))
        return _session(columns), token

    async def end_sessions_of(self, user_id: str, now: datetime) -> int:
        """End every open session of `user_id` (a new password, say); how many there were."""
        stmt = (
            update(SessionRow)
            .where(self._mine(SessionRow), SessionRow.user_id == user_id, SessionRow.revoked_at.is_(None))
            .values(revoked_at=to_naive_utc(now))
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
        return int(result.rowcount)  # type: ignore[attr-defined]

    # --- across tenants: the presented secret or e-mail says whose it is -----------------------------------------

    async def login_candidates(self, email: str, tenant_id: str | None = None) -> list[Candidate]:
        """The active people with a password and this e-mail (one per tenant at most), in `tenant_id` if named."""
        stmt = (
            select(UserRow.tenant_id, UserRow.user_id, UserPasswordRow.password_hash)
            .join(UserPasswordRow, UserPasswordRow.user_id == UserRow.user_id)
            .where(UserRow.email == email.strip().lower(), UserRow.disabled_at.is_(None),
                   UserPasswordRow.tenant_id == UserRow.tenant_id)
            .order_by(UserRow.tenant_id)
            .limit(20)  # (an e-mail in more organisations than this names the one it signs in to)
        )  # fmt: skip
        if tenant_id is not None:
            stmt = stmt.where(UserRow.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            return [Candidate(t, u, h) for t, u, h in await conn.execute(stmt)]

    async def token_is_open(self, token: str, now: datetime) -> bool:
        """Whether a set-password token exists, unused and unexpired (`set_password` checks again, atomically)."""
        stmt = select(PasswordTokenRow.used_at, PasswordTokenRow.expires_at).where(
            PasswordTokenRow.token_sha256 == digest(token)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return row is not None and row.used_at is None and row.expires_at > to_naive_utc(now)

    async def set_password(self, token: str, password_hash: str, now: datetime) -> tuple[str, str] | None:
        """Use a set-password token: the person's password becomes `password_hash` and their sessions end (whoever
        knew the old password is signed out). (tenant id, user id), or None when the token is unknown, used or
        expired, or its person is disabled. The token works once, even when two requests race for it."""
        found = digest(token)
        naive_now = to_naive_utc(now)
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(select(PasswordTokenRow.__table__).where(PasswordTokenRow.token_sha256 == found))
            ).first()
            if row is None or row.used_at is not None or row.expires_at <= naive_now:
                return None
            user = (
                await conn.execute(
                    select(UserRow.disabled_at).where(
                        UserRow.tenant_id == row.tenant_id, UserRow.user_id == row.user_id
                    )
                )
            ).first()
            if user is None or user.disabled_at is not None:
                return None
            claimed = await conn.execute(
                update(PasswordTokenRow)
                .where(PasswordTokenRow.token_sha256 == found, PasswordTokenRow.used_at.is_(None))
                .values(used_at=naive_now)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                return None  # another request used it first
            await conn.execute(
                delete(UserPasswordRow).where(
                    UserPasswordRow.tenant_id == row.tenant_id, UserPasswordRow.user_id == row.user_id
                )
            )
            await conn.execute(
                insert(UserPasswordRow).values(
                    user_id=row.user_id,
                    tenant_id=row.tenant_id,
                    password_hash=password_hash,
                    set_at=naive_now,
                    known_to=row.issued_by or "",
                )
            )
            await conn.execute(
                update(SessionRow)
                .where(SessionRow.tenant_id == row.tenant_id, SessionRow.user_id == row.user_id,
                       SessionRow.revoked_at.is_(None))
                .values(revoked_at=naive_now)
            )  # fmt: skip
        return str(row.tenant_id), str(row.user_id)

    async def session(self, token: str, now: datetime, idle: timedelta = SESSION_IDLE) -> StoredSession | None:
        """The open session whose token this is, marked as used now; None when unknown, ended, idle for longer than
        `idle`, or past its absolute end."""
        found = digest(token)
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(SessionRow.__table__).where(SessionRow.token_sha256 == found))).first()
        if row is None or row.revoked_at is not None:
            return None
        stored = _session(row._mapping)
        if now >= stored.idle_until(idle):
            return None
        if now - stored.last_seen_at >= TOUCH_EVERY:
            async with self._engine.begin() as conn:
                await conn.execute(
                    update(SessionRow)
                    .where(SessionRow.token_sha256 == found, SessionRow.revoked_at.is_(None))
                    .values(last_seen_at=to_naive_utc(now))
                )
            stored = StoredSession(stored.session_id, stored.tenant_id, stored.user_id, stored.created_at, now,
                                   stored.expires_at)  # fmt: skip
        return stored

    async def end_session(self, token: str, now: datetime) -> StoredSession | None:
        """Sign out: the session whose token this is ends now (it is refused from the next request on); the session,
        or None when there was no open one."""
        found = digest(token)
        async with self._engine.begin() as conn:
            row = (await conn.execute(select(SessionRow.__table__).where(SessionRow.token_sha256 == found))).first()
            if row is None or row.revoked_at is not None:
                return None
            await conn.execute(
                update(SessionRow).where(SessionRow.token_sha256 == found).values(revoked_at=to_naive_utc(now))
            )
        return _session(row._mapping)
