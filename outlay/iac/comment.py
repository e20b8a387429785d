"""One cost comment per pull request (GitHub) or merge request (GitLab), posted or updated in place.

The comment carries a hidden marker; a later run finds it among the PR's comments and edits it instead of adding
another. Tokens come from the environment and are only ever sent to the platform's API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx

MARKER = "<!-- outlay-cost-comment -->"
PAGE_SIZE = 100
MAX_PAGES = 50  # 5,000 comments: a PR with more is not looked through further (a new comment is posted)
Platform = Literal["github", "gitlab"]


class CommentError(RuntimeError):
    """The platform refused or could not be reached; the message names the request, never the token."""


@dataclass(frozen=True)
class Target:
    platform: Platform
    api_url: str  # https://api.github.com, or GitLab's .../api/v4
    repository: str  # GitHub "owner/name"; GitLab project id or "group/project"
    number: int  # pull request number / merge request iid
    token: str

    def headers(self) -> dict[str, str]:
        if self.platform == "github":
            return {"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": "2022-11-28"}  # fmt: skip
        return {"PRIVATE-TOKEN": self.token}

    def comments_path(self) -> str:
        if self.platform == "github":
            return f"/repos/{self.repository}/issues/{self.number}/comments"
        return f"/projects/{quote(self.repository, safe='')}/merge_requests/{self.number}/notes"

    def comment_path(self, comment_id: int) -> str:
        if self.platform == "github":
            return f"/repos/{self.repository}/issues/comments/{comment_id}"
        return f"{self.comments_path()}/{comment_id}"


def _check(reply: httpx.Response, what: str) -> Any:
    if reply.status_code >= 400:
        raise CommentError(f"{what}: the {reply.request.method} {reply.request.url.path} answered {reply.status_code}")
    try:
        return reply.json()
    except ValueError:
        raise CommentError(f"{what}: the {reply.request.method} {reply.request.url.path} did not answer JSON") from None


def whoami(client: httpx.Client, target: Target) -> str | None:
    """The token's own user (GitHub login, GitLab user id), or None when the token may not ask (a GitHub Actions
    token is an app's: its comments are then recognised as a bot's)."""
    reply = client.get("/user")
    if reply.status_code != 200:
        return None
    try:
        user = reply.json()
        return str(user["login"] if target.platform == "github" else user["id"])
    except (ValueError, KeyError, TypeError):
        return None


def written_by_us(comment: Any, target: Target, me: str | None) -> bool:
    """Only our own comment is edited: a marker pasted by someone else must not hand theirs to the bot."""
    if not isinstance(comment, dict) or MARKER not in str(comment.get("body", "")):
        return False
    if target.platform == "github":
        user = comment.get("user") or {}
        if me is not None:
            return str(user.get("login")) == me
        return user.get("type") == "Bot" and str(user.get("login", "")).endswith("[bot]")
    author = comment.get("author") or {}
    return me is not None and str(author.get("id")) == me


def find_existing(client: httpx.Client, target: Target) -> int | None:
    me = whoami(client, target)
    for page in range(1, MAX_PAGES + 1):
        reply = client.get(target.comments_path(), params={"per_page": PAGE_SIZE, "page": page})
        comments = _check(reply, "listing comments")
        if not isinstance(comments, list):
            raise CommentError(f"listing comments: {target.comments_path()} did not answer a list")
        for comment in comments:
            if written_by_us(comment, target, me):
                return int(comment["id"])
        if len(comments) < PAGE_SIZE:
            return None
    return None


def post_or_update(target: Target, body: str, timeout: float = 20.0) -> tuple[str, int]:
    """("created" | "updated", the comment's id)."""
    text = f"{MARKER}\n{body}"
    try:
        with httpx.Client(base_url=target.api_url.rstrip("/"), headers=target.headers(), timeout=timeout) as client:
            existing = find_existing(client, target)
            if existing is None:
                created = _check(client.post(target.comments_path(), json={"body": text}), "posting the comment")
                return "created", int(created["id"])
            method = client.patch if target.platform == "github" else client.put
            _check(method(target.comment_path(existing), json={"body": text}), "updating the comment")
            return "updated", existing
    except httpx.HTTPError as exc:
        raise CommentError(f"{target.platform} API at {target.api_url} not reachable ({type(exc).__name__})") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise CommentError(
            f"{target.platform} API at {target.api_url} answered an unexpected shape ({exc!r})"
        ) from None
