"""`outlay comment`: one comment per pull request, posted then updated in place, against a local HTTP server that
plays the platform's REST API and checks every request (paths, methods, token, body)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from outlay.cli.main import app
from outlay.iac.comment import MARKER, CommentError, Target, post_or_update


class FakePlatform:
    """Comments of one pull request, as GitHub or GitLab keep them; records each request."""

    def __init__(self, token_header: str, token: str, prefix: str, me: dict[str, Any] | None = None,
                 author: dict[str, Any] | None = None) -> None:  # fmt: skip
        # 130 comments by people (one of them pastes our marker): ours is on page 2 once posted.
        self.comments: list[dict[str, Any]] = [
            {"id": i, "body": f"someone else's comment {i}", "user": {"login": "mallory", "type": "User"},
             "author": {"id": 666}} for i in range(1, 131)
        ]  # fmt: skip
        self.comments[5]["body"] = f"{MARKER}\nnot the bot's"
        self.requests: list[tuple[str, str]] = []
        self.token_header, self.token, self.prefix = token_header, token, prefix
        self.me = me  # what GET /user answers for the token; None: 403, as for a GitHub Actions token
        self.author = author or {"user": {"login": "github-actions[bot]", "type": "Bot"}}

    def handler(self) -> type[BaseHTTPRequestHandler]:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _allowed(self) -> bool:
                platform.requests.append((self.command, self.path))
                if self.headers.get(platform.token_header) != platform.token:
                    self._reply(401, {"message": "Bad credentials"})
                    return False
                return True

            def do_GET(self) -> None:  # noqa: N802
                if not self._allowed():
                    return
                path, _, query = self.path.partition("?")
                if path.endswith("/user"):
                    self._reply(*((200, platform.me) if platform.me else (403, {"message": "not for this token"})))
                    return
                assert path == f"{platform.prefix}", path
                params = dict(p.split("=") for p in query.split("&"))
                page, size = int(params["page"]), int(params["per_page"])
                self._reply(200, platform.comments[(page - 1) * size : page * size])

            def _body(self) -> str:
                return str(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["body"])

            def do_POST(self) -> None:  # noqa: N802
                if self._allowed():
                    comment = {"id": 1000 + len(platform.comments), "body": self._body(), **platform.author}
                    platform.comments.append(comment)
                    self._reply(201, comment)

            def _update(self) -> None:
                if self._allowed():
                    comment_id = int(self.path.rsplit("/", 1)[1])
                    found = next(c for c in platform.comments if c["id"] == comment_id)
                    found["body"] = self._body()
                    self._reply(200, found)

            do_PATCH = _update  # noqa: N815  (GitHub edits with PATCH)
            do_PUT = _update  # noqa: N815  (GitLab with PUT)

        return Handler


@pytest.fixture
def github() -> Iterator[tuple[FakePlatform, str]]:
    yield from _serve(FakePlatform("Authorization", "Bearer gh-token", "/repos/acme/shop/issues/7/comments"))


@pytest.fixture
def gitlab() -> Iterator[tuple[FakePlatform, str]]:
    yield from _serve(FakePlatform("PRIVATE-TOKEN", "gl-token", "/api/v4/projects/acme%2Fshop/merge_requests/9/notes",
                                   me={"id": 42}, author={"author": {"id": 42}}))  # fmt: skip


def _serve(platform: FakePlatform) -> Iterator[tuple[FakePlatform, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), platform.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield platform, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_github_comment_is_posted_once_then_updated_in_place(github: tuple[FakePlatform, str]) -> None:
    platform, url = github
    target = Target("github", url, "acme/shop", 7, "gh-token")
    assert post_or_update(target, "first estimate")[0] == "created"
    created = platform.comments[-1]
    assert created["body"] == f"{MARKER}\nfirst estimate"
    # 131 comments: the marker is on the second page of 100.
    assert post_or_update(target, "second estimate") == ("updated", created["id"])
    # The marker a person pasted into their comment is left alone: only the bot's own comment is edited.
    assert [c["body"] for c in platform.comments if MARKER in c["body"]] == [f"{MARKER}\nnot the bot's",
                                                                              f"{MARKER}\nsecond estimate"]  # fmt: skip
    methods = [m for m, _ in platform.requests]
    assert methods == ["GET", "GET", "GET", "POST", "GET", "GET", "GET", "PATCH"]  # /user, two pages, write
    assert platform.requests[-1][1] == f"/repos/acme/shop/issues/comments/{created['id']}"


def test_gitlab_note_uses_the_project_path_and_put(gitlab: tuple[FakePlatform, str]) -> None:
    platform, url = gitlab
    target = Target("gitlab", f"{url}/api/v4", "acme/shop", 9, "gl-token")
    post_or_update(target, "one")
    action, note = post_or_update(target, "two")
    assert action == "updated" and platform.requests[-1] == (
        "PUT",
        f"/api/v4/projects/acme%2Fshop/merge_requests/9/notes/{note}",
    )


def test_a_refused_token_is_an_error_without_the_token(github: tuple[FakePlatform, str]) -> None:
    _, url = github
    with pytest.raises(CommentError) as refused:
        post_or_update(Target("github", url, "acme/shop", 7, "stolen-secret"), "x")
    assert "401" in str(refused.value) and "stolen-secret" not in str(refused.value)


def test_cli_comment_on_github_from_the_ci_environment(
    github: tuple[FakePlatform, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform, url = github
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"planned_values": {"root_module": {"resources": [
        {"address": "aws_instance.web", "mode": "managed", "type": "aws_instance",
         "values": {"instance_type": "t3.micro", "availability_zone": "us-east-1a"}}]}}}))  # fmt: skip
    policy = tmp_path / "policy.yml"
    policy.write_text("max_monthly_increase: 1\n")
    runner = CliRunner()
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    missing = runner.invoke(app, ["comment", "github", "--head", str(plan), "--pr", "7"])
    assert missing.exit_code == 2 and "GITHUB_TOKEN" in missing.stderr
    monkeypatch.setenv("GITHUB_TOKEN", "gh-token")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/shop")
    monkeypatch.setenv("GITHUB_API_URL", url)
    done = runner.invoke(app, ["comment", "github", "--head", str(plan), "--pr", "7", "--policy", str(policy)])
    assert done.exit_code == 0, done.output
    body = platform.comments[-1]["body"]
    assert "Monthly cost will increase by $8.39" in body and "FAIL max\\_monthly\\_increase" not in body
    assert "FAIL max_monthly_increase" in body and "`aws_instance.web`" in body
