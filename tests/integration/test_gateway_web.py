"""The gateway serves the web dashboard at `/` without shadowing any API path, and says how to build it when
it is not built."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY
from starlette.routing import Match

from outlay.settings import Settings
from services.gateway.app import create_app
from services.gateway.web_app import WebRoute
from tests.integration.gateway_fixtures import api_client

INDEX = '<!doctype html><html><body><div id="root"></div><script src="/assets/app-abc123.js"></script></body></html>'

KEY = "web-test-key-0123456789"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def unmatched_404s() -> float:
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    return REGISTRY.get_sample_value("outlay_http_requests_total", labels) or 0.0


def built(dist: Path) -> Path:
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "app-abc123.js").write_text("console.log('outlay')")
    (dist / "favicon.svg").write_text("<svg/>")
    return dist


async def test_serves_the_app_and_its_assets_and_falls_back_to_index(store_url: str, tmp_path: Path) -> None:
    dist = built(tmp_path / "dist")
    (tmp_path / "secret.txt").write_text("outside the build")
    async with api_client(create_app(Settings(DATABASE_URL=store_url), web_dist=dist)) as http:
        home = await http.get("/", headers={"Authorization": ""})
        assert home.status_code == 200 and home.text == INDEX
        assert home.headers["content-type"].startswith("text/html")
        asset = await http.get("/assets/app-abc123.js")
        assert asset.status_code == 200 and asset.text == "console.log('outlay')"
        assert "immutable" in asset.headers["cache-control"]
        assert (await http.get("/favicon.svg")).text == "<svg/>"
        for deep_link in ("/anomalies", "/overview/this-month", "/v1x"):
            page = await http.get(deep_link, headers=BROWSER)
            assert page.status_code == 200 and page.text == INDEX, deep_link
        # Not a browser navigating: a script or a scanner gets the router's 404, not the app, counted as unmatched.
        before = unmatched_404s()
        assert (await http.get("/wp-admin/x1")).status_code == 404
        assert (await http.get("/v1/costs/no-such-thing", headers=BROWSER)).status_code == 404
        assert unmatched_404s() == before + 2
        assert (await http.get("/assets/missing.js", headers=BROWSER)).status_code == 404
        escape = await http.get("/%2E%2E/secret.txt", headers=BROWSER)
        assert "outside the build" not in escape.text
        assert (await http.head("/")).status_code == 200


async def test_never_shadows_the_api(store_url: str, tmp_path: Path) -> None:
    dist = built(tmp_path / "dist")
    async with api_client(create_app(Settings(DATABASE_URL=store_url, OUTLAY_API_KEY=KEY), web_dist=dist)) as http:
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/openapi.json")).json()["info"]["title"] == "Outlay API"
        assert "/{path}" not in (await http.get("/openapi.json")).json()["paths"]
        assert "swagger" in (await http.get("/docs")).text.lower()
        assert (await http.get("/metrics")).headers["content-type"].startswith("text/plain")
        unauthorised = await http.get("/v1/costs")
        assert unauthorised.status_code == 401  # the data needs the key, the files do not
        for api_path in ("/v1/no-such-route", "/v1", "/graphql/x", "/docs/x", "/metrics/x", "/healthz/x"):
            missing = await http.get(api_path, headers=BROWSER)
            assert missing.status_code in (401, 404), api_path
            assert INDEX not in missing.text, api_path
        authorised = await http.get("/v1/no-such-route", headers={"Authorization": f"Bearer {KEY}", **BROWSER})
        assert authorised.status_code == 404 and authorised.headers["content-type"].startswith("application/")
        assert (await http.get("/v1/costs", headers={"Authorization": f"Bearer {KEY}"})).status_code == 200
        graphql = await http.post(
            "/graphql", json={"query": "{ me { scopes } }"}, headers={"Authorization": f"Bearer {KEY}"}
        )
        assert graphql.status_code == 200 and INDEX not in graphql.text


async def test_without_a_build_the_page_says_how_to_make_it(store_url: str, tmp_path: Path) -> None:
    async with api_client(create_app(Settings(DATABASE_URL=store_url), web_dist=tmp_path / "absent")) as http:
        for path in ("/", "/anomalies"):
            page = await http.get(path, headers=BROWSER)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert "not built" in page.text and "make web" in page.text
        assert (await http.get("/healthz")).status_code == 200


def test_websocket_paths_are_never_the_app(tmp_path: Path) -> None:
    route = WebRoute(built(tmp_path / "dist"))
    for path in ("/v1/stream", "/anything"):
        scope = {"type": "websocket", "path": path, "root_path": "", "headers": [(b"accept", b"text/html")]}
        assert route.matches(scope)[0] is Match.NONE
    http = {
        "type": "http",
        "method": "GET",
        "path": "/v1/stream",
        "root_path": "",
        "headers": [(b"accept", b"text/html")],
    }
    assert route.matches(http)[0] is Match.NONE
    assert route.matches({**http, "path": "/anomalies"})[0] is Match.FULL
