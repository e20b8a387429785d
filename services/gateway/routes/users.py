"""People of the caller's organisation (admin scope): POST /v1/users adds one with a role, GET /v1/users lists them,
PATCH /v1/users/{id} changes a role or disables a person (their keys and sessions stop working at once). Keys for a
person are made through POST /v1/keys with their `user_id`. POST /v1/users/{id}/password-token issues a one-time
token (shown once, good for 3 days) with which the person sets their password (POST /v1/session/password) and then
signs in to the dashboard with their e-mail (services/gateway/routes/session.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from outlay.spread import to_naive_utc
from outlay.store.audit import AuditEvent
from outlay.store.tenants import AlreadyExists, User
from outlay.text import printable
from services.gateway.auth import principal_of
from services.gateway.pagination import PAGE_PARAMS, PageAsk, page_of, page_params
from services.gateway.permissions import ROLES, known_role
from services.gateway.routes.costs import reject_unknown
from services.gateway.schemas import ID_PATTERN, PROBLEM_RESPONSES
from services.gateway.tenant_stores import stores_of

router = APIRouter(prefix="/v1/users", tags=["users"])
_ID = Path(description="The user's id", max_length=32, pattern=ID_PATTERN)
_EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,255}$"


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, pattern=_EMAIL, description="Unique within the organisation")
    name: str = Field(default="", max_length=200)
    role: str = Field(description=f"One of {', '.join(ROLES)}")

    _role = field_validator("role")(known_role)

    _printable = field_validator("name", "email")(printable)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(default=None, description=f"A new role: {', '.join(ROLES)}")
    disabled: bool | None = Field(
        default=None, description="true disables the person and every key of theirs; false enables them again"
    )

    _role = field_validator("role")(known_role)


class UserOut(BaseModel):
    user_id: str
    email: str
    name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None
    has_password: bool = Field(default=False, description="Whether they can sign in with their e-mail and a password")


class PasswordTokenOut(BaseModel):
    user_id: str
    token: str = Field(description="The one-time set-password token: shown this once, never again")
    expires_at: datetime
    set_password_path: str = Field(
        description="The dashboard's page that sets the password with this token (append to the gateway's address); "
        "the token is in the fragment, which browsers never send to a server or a proxy's log"
    )


class UsersOut(BaseModel):
    users: list[UserOut]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page; null at the end")


def _out(user: User, has_password: bool = False) -> UserOut:
    return UserOut(user_id=user.user_id, email=user.email, name=user.name, role=user.role,
                   created_at=user.created_at, disabled_at=user.disabled_at, has_password=has_password)  # fmt: skip


@router.post("", status_code=201, response_model=UserOut, responses=PROBLEM_RESPONSES, summary="Add a person")
async def create_user(request: Request, body: UserIn) -> UserOut:
    reject_unknown(request, frozenset())
    stores = stores_of(request)
    try:
        user = await stores.users.create(body.email, body.name, body.role)
    except AlreadyExists as exc:
        raise HTTPException(409, f"email: {exc}") from None
    actor = principal_of(request).actor
    await stores.audit.append([AuditEvent(user.created_at, actor, f"user:{user.user_id}", "user_created", user.role)])
    return _out(user)


@router.get("", response_model=UsersOut, responses=PROBLEM_RESPONSES, summary="The organisation's people")
async def list_users(request: Request, ask: PageAsk = Depends(page_params)) -> UsersOut:
    reject_unknown(request, PAGE_PARAMS)
    found = await stores_of(request).users.all()
    page, next_cursor = page_of(found, lambda u: (to_naive_utc(u.created_at), u.user_id), ask)
    with_password = await stores_of(request).sign_ins.with_password([u.user_id for u in page])
    return UsersOut(users=[_out(u, u.user_id in with_password) for u in page], next_cursor=next_cursor)


@router.patch("/{user_id}", response_model=UserOut, responses=PROBLEM_RESPONSES, summary="Change a role, or disable")
async def update_user(request: Request, body: UserPatch, user_id: str = _ID) -> UserOut:
    reject_unknown(request, frozenset())
    stores, now = stores_of(request), datetime.now(UTC)
    before = await stores.users.get(user_id)
    if before is None:
        raise HTTPException(404, f"no user with id {user_id!r}")
    try:
        after = await stores.users.update(
            user_id, role=body.role, disabled_at=now if body.disabled else None, enable=body.disabled is False
        )
    except AlreadyExists as exc:
        raise HTTPException(409, f"disabled: {exc}") from None
    assert after is not None
    changes = [f"role {before.role} → {after.role}"] if after.role != before.role else []
    if after.disabled_at is not None and before.disabled_at is None:
        changes.append("disabled")
        # Their sessions end now, not just while disabled: enabling them again must not revive a stolen cookie.
        await stores.sign_ins.end_sessions_of(user_id, now)
    if after.disabled_at is None and before.disabled_at is not None:
        changes.append("enabled again")
    if changes:
        actor = principal_of(request).actor
        await stores.audit.append([AuditEvent(now, actor, f"user:{user_id}", "user_changed", "; ".join(changes))])
    return _out(after, bool(await stores.sign_ins.with_password([user_id])))


@router.post(
    "/{user_id}/password-token", status_code=201, response_model=PasswordTokenOut, responses=PROBLEM_RESPONSES,
    summary="Issue a one-time token with which the person sets their password (shown once)",
)  # fmt: skip
async def issue_password_token(request: Request, user_id: str = _ID) -> PasswordTokenOut:
    reject_unknown(request, frozenset())
    stores, now = stores_of(request), datetime.now(UTC)
    user = await stores.users.get(user_id)
    if user is None:
        raise HTTPException(404, f"no user with id {user_id!r}")
    if user.disabled_at is not None:
        raise HTTPException(409, f"user {user_id!r} is disabled: enable them first (PATCH /v1/users/{user_id})")
    principal = principal_of(request)
    actor = principal.actor
    token, expires = await stores.sign_ins.issue_password_token(user_id, actor, now, issued_by=principal.identity)
    # (the audit trail names who issued a token and for whom, never the token)
    await stores.audit.append([AuditEvent(now, actor, f"user:{user_id}", "password_token_issued",
                                          f"good until {expires.isoformat()}")])  # fmt: skip
    return PasswordTokenOut(
        user_id=user_id, token=token, expires_at=expires, set_password_path=f"/#set-password={token}"
    )
