"""`make bench-web`: how soon the dashboard's overview shows spend, and how much JavaScript its first view loads.

The stack is the one the browser tests drive (tests/web/): a fresh PostgreSQL database seeded through the real
ledger writer with 76 days of usage up to today (four services, two teams, billed days and today's live estimate),
two budgets, the forecast service on gRPC, the embedded broker, and the gateway (uvicorn, in this process) serving
the built dashboard (web/dist) at `/`. Headless Debian chromium (/usr/bin/chromium) loads it through Playwright.

- `first_paint_s`: the median over N cold loads of the overview, from navigation start (the page's
  `performance.timeOrigin`) to the start of the first animation frame in which the first spend figure is in the
  document: the amount of the "This month to date" card (an element under that heading with a digit in it). A
  frame's callbacks run just before it is painted, so this is when the figure is first drawn, to the frame (16.7
  ms at 60 Hz). Each load is cold: a new browser context (its own renderer process, no HTTP or code cache, and the
  cache disabled through Chrome DevTools' Network.setCacheDisabled), with the tab's sessionStorage as signing in once
  through the page left it put back before the page's scripts run, so the overview opens signed in.
- `js_kb_gzip`: the JavaScript that timed load requested (every script response from the gateway up to the
  figure's frame and the network going idle, so lazily loaded chunks of the first view count), read from the dist
  files it names and gzipped at level 9, in kB (1000 bytes).
- The baseline, in the same run and timed the same way: a static HTML page with the same card and figure and no
  JavaScript, served by the same gateway from a copy of the build (the gateway serves any file of its dist
  directory). `ratio` = first_paint_s / baseline_s: what the app costs over the browser and server's own floor.

Goal (issue 9): first_paint_s < 1.5 on localhost and js_kb_gzip < 300. Last line: JSON with `first_paint_s`,
`js_kb_gzip`, `baseline_s`, `ratio` and the details.
"""

from __future__ import annotations

import asyncio
import fcntl
import gzip
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg
import httpx
from fastapi import FastAPI

from outlay.events import CostKind, UsageRecord
from outlay.kafka.embedded_broker import EmbeddedBroker, free_port
from outlay.kafka.topics_admin import ensure_topics
from outlay.settings import Settings
from outlay.store.engine import make_engine, upgrade
from services.forecast.rpc_server import start_server
from services.forecast.worker import Reforecaster
from services.gateway.app import create_app
from services.gateway.main import serving
from services.ingest.ledger.writer import LedgerWriter

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
DIST = WEB / "dist"
CHROMIUM = Path("/usr/bin/chromium")
PG_ADMIN = os.environ.get(
    "OUTLAY_BENCH_PG", os.environ.get("OUTLAY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
)
OPERATOR_KEY = "web-operator-key-0123456789abcdef"
ACCOUNT = "111122223333"
HISTORY_DAYS = 75  # before today: last month whole, whatever today is, and history enough for the forecast
# (service, team, region, daily base cost in USD): a small account's spread.
SERVICES = (
    ("AmazonEC2", "checkout", "us-east-1", Decimal("42.10")),
    ("AmazonRDS", "search", "us-east-1", Decimal("18.35")),
    ("AmazonS3", "search", "us-west-2", Decimal("6.20")),
    ("AWSLambda", "checkout", "us-east-1", Decimal("2.45")),
)
BUDGETS = (
    {"name": "Monthly total", "scope": "total", "amount": "2500"},
    {"name": "Checkout team", "scope": "tag:team=checkout", "amount": "1200"},
)
LOADS = int(os.environ.get("OUTLAY_BENCH_WEB_LOADS", "7"))
SPEND_HEADING = "This month to date"
FIGURE_TIMEOUT_MS = 30_000
# Inputs of the build: the dist is stale when any is newer than its index.html.
BUILD_INPUTS = ("src", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json")


# --- the dashboard's build -------------------------------------------------------------------------------------


def _newer_than(reference: Path, paths: list[Path]) -> list[Path]:
    since = reference.stat().st_mtime
    found: list[Path] = []
    for path in paths:
        candidates = path.rglob("*") if path.is_dir() else [path]
        found.extend(p for p in candidates if p.is_file() and p.stat().st_mtime > since)
    return found


def build_is_stale(web: Path = WEB) -> bool:
    """True when web/dist is missing or older than any of the dashboard's sources."""
    index = web / "dist" / "index.html"
    if not index.is_file():
        return True
    return bool(_newer_than(index, [web / name for name in BUILD_INPUTS if (web / name).exists()]))


@contextmanager
def npm_tree_lock(tree: Path) -> Iterator[None]:
    """One process at a time in an npm tree: `npm ci` deletes and rewrites node_modules and the build rewrites dist,
    and the suite runs on two workers (`make test`) whose tests may both need the tree. The lock file sits in the
    temporary directory, so neither the repository nor a packaged .vsix ever holds it."""
    digest = hashlib.sha1(str(tree.resolve()).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"outlay-npm-{digest}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _npm(tree: Path, timeout_s: float, *command: str) -> None:
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed in {tree}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")


def npm_installed(tree: Path, *, timeout_s: float = 600) -> None:
    """`npm ci` in `tree` when node_modules is missing or older than the lock file, under `npm_tree_lock`. Raises
    RuntimeError with npm's output when it fails."""
    with npm_tree_lock(tree):
        installed = tree / "node_modules" / ".package-lock.json"
        if not installed.is_file() or _newer_than(installed, [tree / "package-lock.json"]):
            _npm(tree, timeout_s, "npm", "ci", "--no-audit", "--no-fund")


def build_dashboard(web: Path = WEB, *, force: bool = False, timeout_s: float = 600) -> None:
    """`npm_installed`, then `npm run build` when the build is stale (or `force`), under the same lock. Raises
    RuntimeError with npm's output when a step fails."""
    npm_installed(web, timeout_s=timeout_s)
    with npm_tree_lock(web):
        if force or build_is_stale(web):
            _npm(web, timeout_s, "npm", "run", "build")


# --- the running stack ------------------------------------------------------------------------------------------


def daily_cost(base: Decimal, day: date, this_month: bool) -> Decimal:
    """A weekly rhythm (weekends cheaper), and this month 12% dearer than the last: exact to the cent."""
    weekday = Decimal("0.7") if day.weekday() >= 5 else Decimal("1") + Decimal(day.weekday()) / Decimal(50)
    growth = Decimal("1.12") if this_month else Decimal("1")
    return (base * weekday * growth).quantize(Decimal("0.01"))


def usage(today: date) -> list[UsageRecord]:
    """Daily lines per service from HISTORY_DAYS before today: billed up to yesterday, today's a live estimate."""
    out: list[UsageRecord] = []
    for offset in range(HISTORY_DAYS, -1, -1):
        day = today - timedelta(days=offset)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        kind = CostKind.ESTIMATED if offset == 0 else CostKind.BILLED
        for service, team, region, base in SERVICES:
            cost = daily_cost(base, day, (day.year, day.month) == (today.year, today.month))
            out.append(
                UsageRecord(
                    record_id=f"{service}-{day.isoformat()}-{kind.value}",
                    source="bench-web",
                    cost_kind=kind,
                    charge_period_start=start,
                    charge_period_end=start + timedelta(days=1),
                    billing_account_id=ACCOUNT,
                    region=region,
                    service=service,
                    resource_id=f"{service.lower()}-{team}",
                    billed_cost=cost,
                    effective_cost=cost,
                    list_cost=cost,
                    tags={"team": team},
                )
            )
    return out


@dataclass
class Stack:
    """The running stack: where the gateway listens, the operator's key, the store and the broker behind it."""

    base_url: str
    operator_key: str
    store_url: str
    bootstrap_servers: str
    app: FastAPI
    today: date

    def bearer(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.operator_key}"}


@asynccontextmanager
async def _database(pg_admin: str) -> AsyncIterator[str]:
    name = f"outlay_web_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_admin)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    try:
        await upgrade(url)
        yield url
    finally:
        admin = await asyncpg.connect(pg_admin)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def dashboard_stack(dist: Path = DIST, *, pg_admin: str = PG_ADMIN, **more_settings: Any) -> AsyncIterator[Stack]:
    """Seed a fresh database, start the broker, the forecast service and the gateway serving `dist`; yield them.
    `more_settings` are more of the gateway's settings, by their variables' names (OUTLAY_WEBHOOK_ALLOW_PRIVATE=True)."""
    today = datetime.now(UTC).date()
    async with _database(pg_admin) as store_url:
        with EmbeddedBroker() as broker:
            await ensure_topics(broker.bootstrap_servers)
            engine = make_engine(store_url)
            server = None
            try:
                written = await LedgerWriter(engine).write(usage(today))
                assert written.written == (HISTORY_DAYS + 1) * len(SERVICES), written
                server, grpc_port = await start_server(Reforecaster(engine, ("team",)), 30, "127.0.0.1:0")
                settings = Settings(
                    DATABASE_URL=store_url,
                    KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
                    OUTLAY_API_KEY=OPERATOR_KEY,
                    OUTLAY_FORECAST_GRPC_PORT=grpc_port,
                    **more_settings,
                )  # fmt: skip
                app = create_app(settings, web_dist=dist)
                port = free_port()
                async with serving(app, port):
                    stack = Stack(
                        f"http://127.0.0.1:{port}", OPERATOR_KEY, store_url, broker.bootstrap_servers, app, today
                    )
                    async with httpx.AsyncClient(base_url=stack.base_url, headers=stack.bearer(), timeout=30) as http:
                        for budget in BUDGETS:
                            made = await http.post("/v1/budgets", json=budget)
                            if made.status_code != 201:
                                raise RuntimeError(f"POST /v1/budgets: {made.status_code} {made.text}")
                    yield stack
            finally:
                if server is not None:
                    await server.stop(None)
                await engine.dispose()


# --- the measurement --------------------------------------------------------------------------------------------

# Runs in the page before its own scripts: each animation frame looks for the spend figure, and the first frame
# that has it records its start (ms since navigation start) in window.__outlayFigureAt.
WATCH_FOR_FIGURE = """
(() => {
  const heading = __HEADING__;
  const visible = () => {
    for (const h of document.querySelectorAll("h1, h2, h3, h4")) {
      if (h.textContent.trim() !== heading) continue;
      const card = h.parentElement;
      if (!card) continue;
      for (const el of card.children) {
        if (el !== h && /\\d/.test(el.textContent) && el.getClientRects().length > 0) return true;
      }
    }
    return false;
  };
  const frame = (at) => {
    if (visible()) { window.__outlayFigureAt = at; return; }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();
""".replace("__HEADING__", json.dumps(SPEND_HEADING))

BASELINE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Outlay baseline</title></head>
<body><main><article><h3>__HEADING__</h3><p>$1,234.56</p></article></main></body></html>
""".replace("__HEADING__", SPEND_HEADING)


@dataclass
class Load:
    figure_s: float
    first_contentful_paint_s: float | None
    scripts: list[str]  # paths of the scripts the load requested


async def _signed_in_session(browser: Any, stack: Stack) -> dict[str, str]:
    """Sign in through the page once; the tab's sessionStorage as sign-in left it (whatever the app keeps there)."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(stack.base_url + "/")
        await page.get_by_label("API key").fill(stack.operator_key)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("button", name="Sign out").wait_for(timeout=FIGURE_TIMEOUT_MS)
        entries: dict[str, str] = await page.evaluate("Object.fromEntries(Object.entries(sessionStorage))")
        if not entries:
            raise RuntimeError("signing in left nothing in sessionStorage: the loads below would not be signed in")
        return entries
    finally:
        await context.close()


async def _timed_load(browser: Any, url: str, session: dict[str, str]) -> Load:
    """One cold load of `url`: a new browser context (its own renderer, empty HTTP and code caches, the cache also
    disabled), the signed-in tab's sessionStorage put back before any script of the page runs; timed to the spend
    figure's first frame."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        restore = f"for (const [k, v] of Object.entries({json.dumps(session)})) sessionStorage.setItem(k, v);"
        await context.add_init_script(restore + WATCH_FOR_FIGURE)
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        scripts: list[str] = []

        def on_request(request: Any) -> None:
            path = urlparse(request.url).path
            if request.resource_type == "script" or path.endswith((".js", ".mjs")):  # modulepreloads too
                scripts.append(path)

        page.on("request", on_request)
        await page.goto(url, wait_until="commit")
        await page.wait_for_function("window.__outlayFigureAt !== undefined", timeout=FIGURE_TIMEOUT_MS)
        await page.wait_for_load_state("networkidle")
        figure_ms = await page.evaluate("window.__outlayFigureAt")
        fcp_ms = await page.evaluate(
            "(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: null}).startTime"
        )
        return Load(figure_ms / 1000, None if fcp_ms is None else fcp_ms / 1000, scripts)
    finally:
        await context.close()


def gzip_kb(dist: Path, paths: Iterator[str] | list[str]) -> tuple[float, dict[str, float]]:
    """The gzip size (level 9) of each dist file named by a requested path, and their sum, in kB."""
    sizes: dict[str, float] = {}
    for path in paths:
        file = (dist / path.lstrip("/")).resolve()
        if dist.resolve() not in file.parents or not file.is_file():
            raise RuntimeError(f"the page requested {path}, which is not a file of {dist}")
        sizes[path] = len(gzip.compress(file.read_bytes(), compresslevel=9)) / 1000
    return round(sum(sizes.values()), 2), {p: round(kb, 2) for p, kb in sizes.items()}


async def measure(stack: Stack, dist: Path, loads: int = LOADS) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    app_loads: list[Load] = []
    baseline_loads: list[Load] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            session = await _signed_in_session(browser, stack)  # also the warm-up: the server's first answers
            for _ in range(loads):  # interleaved, so both see the same machine
                app_loads.append(await _timed_load(browser, stack.base_url + "/", session))
                baseline_loads.append(await _timed_load(browser, stack.base_url + "/baseline.html", session))
        finally:
            await browser.close()
    scripts = sorted({s for load in app_loads for s in load.scripts})
    if not scripts:
        raise RuntimeError("the overview requested no JavaScript: is the dashboard built?")
    if any(load.scripts for load in baseline_loads):
        raise RuntimeError("the baseline page requested JavaScript")
    js_kb, per_file = gzip_kb(dist, scripts)
    first_paint = statistics.median(load.figure_s for load in app_loads)
    baseline = statistics.median(load.figure_s for load in baseline_loads)
    fcps = [load.first_contentful_paint_s for load in app_loads if load.first_contentful_paint_s is not None]
    return {
        "first_paint_s": round(first_paint, 3),
        "js_kb_gzip": js_kb,
        "baseline_s": round(baseline, 3),
        "ratio": round(first_paint / baseline, 2) if baseline > 0 else None,
        "first_paint_min_s": round(min(load.figure_s for load in app_loads), 3),
        "first_paint_max_s": round(max(load.figure_s for load in app_loads), 3),
        "first_contentful_paint_s": round(statistics.median(fcps), 3) if fcps else None,
        "loads": loads,
        "js_files": per_file,
        "goal": {"first_paint_s": 1.5, "js_kb_gzip": 300},
    }


@asynccontextmanager
async def _dist_with_baseline() -> AsyncIterator[Path]:
    """A copy of web/dist with the baseline page beside the app (the built files themselves are left alone)."""
    with tempfile.TemporaryDirectory(prefix="outlay-bench-web-") as tmp:
        dist = Path(tmp) / "dist"
        shutil.copytree(DIST, dist)
        (dist / "baseline.html").write_text(BASELINE_PAGE)
        yield dist


async def main() -> None:
    if not CHROMIUM.is_file():
        raise SystemExit(f"{CHROMIUM} not found: apt-get install -y --no-install-recommends chromium")
    if shutil.which("npm") is None:
        raise SystemExit("npm not found: install Node.js 20 and npm to build the dashboard")
    started = time.perf_counter()
    build_dashboard()
    print(f"dashboard built: {DIST}")
    async with _dist_with_baseline() as dist, dashboard_stack(dist) as stack:
        print(f"stack up ({time.perf_counter() - started:.1f} s): {stack.base_url}; {LOADS} cold loads each…")
        figures = await measure(stack, dist)
    print(
        f"overview: spend figure drawn after {figures['first_paint_s']} s (median of {LOADS}, "
        f"{figures['first_paint_min_s']}-{figures['first_paint_max_s']} s; goal < 1.5 s); baseline page (no JS): "
        f"{figures['baseline_s']} s; ratio {figures['ratio']}. JavaScript of the first view: "
        f"{figures['js_kb_gzip']} kB gzip in {len(figures['js_files'])} file(s) (goal < 300 kB)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
