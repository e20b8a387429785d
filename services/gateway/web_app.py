"""The web dashboard's files, served by the gateway at `/` (built by `make web` into web/dist).

The dashboard is a single-page app: `/`, and a browser's navigation (Accept: text/html) to any other path no API
route knows, get `index.html`; files that exist in the build (`/assets/…` with content hashes in their names, the
icon) are sent as they are. The API's own paths are never answered with the app: an unknown `/v1/…` stays a 404
problem document, and so does a non-browser request for an unknown path. The files are open (the data
behind them needs an API key). The build is looked up on each request, so building while the gateway runs works.
Without a build, the pages say how to make one instead of a bare 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import Scope

DEFAULT_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
# Paths the API owns (and FastAPI's documentation pages): the app never answers for them.
RESERVED_PREFIXES = ("/v1", "/graphql", "/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json")
IMMUTABLE = "public, max-age=31536000, immutable"  # built assets carry a content hash in their name

NOT_BUILT = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Outlay</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>Outlay</h1>
<p>The web dashboard is not built. Build it with <code>make web</code> (Node.js 20 and npm:
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>), then reload this page.</p>
<p>The API is running: see <a href="/docs">/docs</a>.</p>
</body>
</html>
"""


def reserved(path: str) -> bool:
    """True when `path` (starting with "/") belongs to the API rather than to the dashboard."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in RESERVED_PREFIXES)


def _file_in(dist: Path, path: str) -> Path | None:
    """The built file `path` names, when it exists inside `dist` (never outside it, whatever the path says)."""
    if not path:
        return None
    candidate = (dist / path).resolve()
    root = dist.resolve()
    if candidate != root and root in candidate.parents and candidate.is_file():
        return candidate
    return None


def wants_html(scope: Scope) -> bool:
    """A browser navigating (Accept names text/html), not a script, a scanner or an API client asking for data."""
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            return b"text/html" in value
    return False


class WebRoute(Route):
    """`/{path:path}`, matched only for what the dashboard can answer: `/`, a file of the build, or a browser's
    navigation to a path of the app. Anything else stays unmatched, so an unknown `/v1/…` or a scanner's probe is
    the router's 404 (counted as `unmatched` in the metrics), never the app."""

    def __init__(self, dist: Path) -> None:
        super().__init__("/{path:path}", self.serve, methods=["GET", "HEAD"], include_in_schema=False)
        self.dist = dist

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        path: str = child.get("path_params", {}).get("path", "")
        if reserved("/" + path):
            return Match.NONE, {}
        if path == "" or _file_in(self.dist, path) is not None:
            return match, child
        if wants_html(scope) and not path.startswith("assets/"):
            return match, child  # the single-page app's own paths (deep links)
        return Match.NONE, {}

    async def serve(self, request: Request) -> Response:
        index = self.dist / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, headers={"Cache-Control": "no-store"})
        path = request.path_params.get("path", "")
        found = _file_in(self.dist, path)
        if found is not None:
            cache = IMMUTABLE if path.startswith("assets/") else "no-cache"
            return FileResponse(found, headers={"Cache-Control": cache})
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})


def mount_web(app: FastAPI, dist: Path = DEFAULT_DIST) -> None:
    """Serve the dashboard built in `dist` at `/`. Call after every other route: this one takes what they leave."""
    app.router.routes.append(WebRoute(dist))
