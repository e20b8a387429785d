"""The dashboard in a real browser: headless Debian chromium (Playwright, no downloaded browser) against the running
stack of bench/web.py (PostgreSQL, the embedded broker, the ledger, the forecast service on gRPC, the gateway serving
web/dist), seeded with usage, budgets, anomalies (published as the anomaly worker does), people of every role with
their own keys, and proposed plans (per width, one an engineer asked an approver for and one nobody asked about).

Every browser test runs at 390 px (a phone) and at a desktop width, collects the page's console errors and uncaught
exceptions (none allowed), and saves a screenshot of what it looked at under $OUTLAY_ARTIFACTS_DIR (default
/tmp/outlay-artifacts/screenshots). OUTLAY_WEB_DIST names a dashboard built elsewhere to test instead of building
web/ (the default: web/dist, built once per session when missing or stale)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.web import ACCOUNT, CHROMIUM, DIST, Stack, build_dashboard, dashboard_stack
from outlay.events import AnomalyDirection, CostAnomaly, Severity
from outlay.events.anomaly import anomaly_id
from outlay.events.plan import ActionPlan, Kind, PlannedChange, PlanStatus, Risk
from outlay.kafka.producer import EventProducer
from outlay.store.engine import make_engine
from outlay.store.plans import PlanStore, RecommendationStore, StoredRecommendation, recommendation_id
from outlay.tenancy import DEFAULT_TENANT
from services.ingest.ledger.consumer import run_ledger

ARTIFACTS = Path(os.environ.get("OUTLAY_ARTIFACTS_DIR", "/tmp/outlay-artifacts/screenshots"))
WIDTHS = {"390px": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
TIMEOUT_MS = 15_000  # any one condition on the page
SETUP_TIMEOUT_S = 60.0
# One anomaly and one plan per width: the tests that act on them run once per width, on their own.
ANOMALY_SERVICES = {"390px": "AmazonRDS", "desktop": "AmazonEC2"}
# Per width: a plan an engineer asked an approver for (in the seed), and one nobody has asked for yet.
ASKED_PLANS = {"390px": "i-0asked390", "desktop": "i-0askeddesk"}
UNASKED_PLANS = {"390px": "i-0open390", "desktop": "i-0opendesk"}
# Per width: a service only the live-update test's usage has (so its row appears only through that update).
LIVE_SERVICES = {"390px": "AmazonCloudWatch", "desktop": "AmazonSNS"}


def plan_id(resource: str) -> str:
    return f"plan-{resource}"


def plan_title(resource: str) -> str:
    return f"Rightsize {resource}"


def usd(amount: str | Decimal) -> str:
    """What the dashboard shows for a USD amount: Intl.NumberFormat("en-US", currency USD) of the amount as a
    JavaScript number (a double, rounded half away from zero to cents), e.g. "$1,234.56", "-$3.10"."""
    as_double = Decimal(float(Decimal(amount)))  # the exact binary value JavaScript rounds
    cents = as_double.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{'-' if cents < 0 else ''}${abs(cents):,.2f}"


@dataclass
class People:
    """API keys of the default tenant's people, each made the way a person would hold it."""

    engineer: str
    approver: str  # the approver's own key (POST /v1/me/keys): not made by the key that made the asker's
    viewer: str
    ids: dict[str, str]  # role -> user id


@dataclass
class Seeded:
    stack: Stack
    people: People
    anomalies: dict[str, str]  # width id -> anomaly id
    http: httpx.AsyncClient  # the API as the operator

    async def get(self, path: str, key: str | None = None, **params: Any) -> Any:
        reply = await self.http.get(path, params=params or None, headers=self.stack.bearer(key))
        assert reply.status_code == 200, f"GET {path}: {reply.status_code} {reply.text}"
        return reply.json()


def _anomaly(service: str, start: datetime) -> CostAnomaly:
    series = f"minute|billing_account_id={ACCOUNT}|service={service}"
    expected, impact = Decimal("1.25"), Decimal("3.875")
    return CostAnomaly(
        anomaly_id=anomaly_id(series, start),
        series=series,
        dimensions={"billing_account_id": ACCOUNT, "service": service},
        direction=AnomalyDirection.SPIKE,
        start=start,
        end=None,
        last_seen=start + timedelta(minutes=42),
        expected_cost=expected,
        actual_cost=expected + impact,
        impact=impact,
        score=0.997,
        severity=Severity.HIGH,
        root_cause=[f"service={service}", "region=us-east-1"],
        alerted=True,
    )


def _plan(resource: str, saving: str, now: datetime) -> ActionPlan:
    change = PlannedChange(
        resource_id=resource, kind=Kind.RIGHTSIZE, summary=f"resize {resource} to m5.large",
        monthly_saving=Decimal(saving), confidence=0.9, risk=Risk.LOW, current="m5.2xlarge", proposed="m5.large",
    )  # fmt: skip
    return ActionPlan(
        plan_id=plan_id(resource), status=PlanStatus.PROPOSED, region="us-east-1", title=plan_title(resource),
        changes=[change], monthly_saving=Decimal(saving), risk=Risk.LOW, requires_approval=True, created_at=now,
        updated_at=now, tenant_id=DEFAULT_TENANT,
    )  # fmt: skip


async def _until(check: Callable[[], Awaitable[bool]], what: str, within: float = SETUP_TIMEOUT_S) -> None:
    """Poll `check` until it holds (a condition, not a pause); fail naming `what` after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


async def _person(http: httpx.AsyncClient, email: str, role: str) -> tuple[str, str]:
    """(user id, a key an admin made for them)."""
    user = await http.post("/v1/users", json={"email": email, "name": email.split("@")[0].title(), "role": role})
    assert user.status_code == 201, user.text
    user_id = user.json()["user_id"]
    key = await http.post("/v1/keys", json={"name": f"{email} (from the admin)", "user_id": user_id})
    assert key.status_code == 201, key.text
    return user_id, str(key.json()["key"])


async def _seed(stack: Stack, http: httpx.AsyncClient) -> Seeded:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    # Anomalies as the anomaly worker publishes them; the gateway's sink stores them.
    anomalies = {width: _anomaly(service, now - timedelta(hours=3 + i)) for i, (width, service) in
                 enumerate(ANOMALY_SERVICES.items())}  # fmt: skip
    async with EventProducer(stack.bootstrap_servers, client_id="web-test-anomaly-worker") as producer:
        await producer.send_many(list(anomalies.values()))

    async def stored() -> bool:
        listed = (await http.get("/v1/anomalies", params={"status": "any"})).json()["items"]
        return {a["anomaly_id"] for a in listed} >= {a.anomaly_id for a in anomalies.values()}

    await _until(stored, "the gateway's sink to store the anomalies")

    # Recommendations and proposed plans, as the optimizer's scan leaves them.
    engine = make_engine(stack.store_url)
    try:
        resources = [*ASKED_PLANS.values(), *UNASKED_PLANS.values()]
        plans = [_plan(resource, f"{61.32 + 13 * i:.2f}", now) for i, resource in enumerate(resources)]
        await PlanStore(engine).for_tenant(DEFAULT_TENANT).propose(plans, "us-east-1", now)
        found = [
            StoredRecommendation(
                recommendation_id=recommendation_id("us-east-1", Kind.RIGHTSIZE.value, p.changes[0].resource_id),
                region="us-east-1",
                kind=Kind.RIGHTSIZE.value,
                resource_id=p.changes[0].resource_id,
                summary=p.changes[0].summary,
                monthly_saving=p.monthly_saving,
                confidence=0.9,
                risk="low",
                current="m5.2xlarge",
                proposed="m5.large",
                evidence={"cpu_p95": 11.5},
                plan_id=p.plan_id,
                found_at=now,
            )
            for p in plans
        ]
        await RecommendationStore(engine).for_tenant(DEFAULT_TENANT).replace("us-east-1", found)
    finally:
        await engine.dispose()

    # People: an engineer asks for approval of the per-width plans; the approver decides with a key of their own.
    engineer_id, engineer = await _person(http, "eng@outlay.test", "engineer")
    approver_id, approver_from_admin = await _person(http, "ann@outlay.test", "approver")
    viewer_id, viewer = await _person(http, "vic@outlay.test", "viewer")
    own = await http.post("/v1/me/keys", json={"name": "ann's own"}, headers=stack.bearer(approver_from_admin))
    assert own.status_code == 201, own.text
    for resource in ASKED_PLANS.values():
        asked = await http.post(f"/v1/plans/{plan_id(resource)}/request-approval", headers=stack.bearer(engineer),
                                json={"comment": "saves money, low risk"})  # fmt: skip
        assert asked.status_code == 200, asked.text
    ids = {"engineer": engineer_id, "approver": approver_id, "viewer": viewer_id}
    people = People(engineer=engineer, approver=str(own.json()["key"]), viewer=viewer, ids=ids)
    return Seeded(stack, people, {w: a.anomaly_id for w, a in anomalies.items()}, http)


@pytest.fixture(scope="session")
def dashboard_dist() -> Path:
    """web/dist, built once per session when missing or older than web/'s sources; skips without chromium or npm."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: the browser tests need Debian's chromium (apt-get install chromium)")
    try:
        from playwright.async_api import expect
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[dev]')")
    expect.set_options(timeout=TIMEOUT_MS)  # every expect's wait, unless it names its own
    prebuilt = os.environ.get("OUTLAY_WEB_DIST")
    if prebuilt:  # a build made elsewhere (CI's earlier step, a snapshot): used as it is
        dist = Path(prebuilt)
        assert (dist / "index.html").is_file(), f"OUTLAY_WEB_DIST={prebuilt} has no index.html"
        return dist
    if shutil.which("npm") is None:
        pytest.skip("npm is not on PATH: install Node.js 20 and npm to build the dashboard for the browser tests")
    try:
        build_dashboard()
    except RuntimeError as exc:
        pytest.fail(f"the dashboard does not build: {exc}")
    return DIST


@pytest.fixture(scope="session")
async def seeded(dashboard_dist: Path) -> AsyncIterator[Seeded]:
    """The running stack (its own database), seeded, with the ledger consuming usage as in `outlay run`."""
    # Webhooks may reach this machine: the settings test's receiver listens on 127.0.0.1.
    async with dashboard_stack(dashboard_dist, OUTLAY_WEBHOOK_ALLOW_PRIVATE=True) as stack:
        stop = asyncio.Event()
        ledger = asyncio.create_task(
            run_ledger(stack.bootstrap_servers, stack.store_url, "outlay-ledger-web-tests", stop)
        )
        try:
            async with httpx.AsyncClient(base_url=stack.base_url, headers=stack.bearer(), timeout=30) as http:
                yield await _seed(stack, http)
        finally:
            stop.set()
            await asyncio.wait_for(ledger, SETUP_TIMEOUT_S)


@pytest.fixture(scope="session")
async def browser(dashboard_dist: Path) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Tab:
    """One page in a fresh browser context at one width, with what it logged as errors."""

    page: Any
    width: str
    errors: list[str] = field(default_factory=list)
    icon_errors: list[str] = field(default_factory=list)

    async def screenshot(self, view: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{view}-{self.width}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path

    async def sign_in(self, seeded: Seeded, key: str | None = None) -> None:
        from playwright.async_api import expect

        await self.page.goto(seeded.stack.base_url + "/")
        await self.page.get_by_label("API key").fill(key or seeded.stack.operator_key)
        await self.page.get_by_role("button", name="Sign in").click()
        await expect(self.page.get_by_role("button", name="Sign out")).to_be_visible(timeout=TIMEOUT_MS)

    def nav(self, name: str) -> Any:
        """The control that opens view `name` (a button or a link in the views' navigation)."""
        nav = self.page.get_by_role("navigation")
        return nav.get_by_role("button", name=name, exact=True).or_(nav.get_by_role("link", name=name, exact=True))

    async def open_view(self, name: str) -> None:
        from playwright.async_api import expect

        await self.nav(name).click()
        await expect(self.page.get_by_role("heading", level=2, name=name, exact=True)).to_be_visible(timeout=TIMEOUT_MS)

    async def assert_fits(self) -> None:
        """Nothing wider than the window: no sideways scrolling at 390 px (or at the desktop width)."""
        overflow = await self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than the {self.width} window"

    def assert_no_errors(self) -> None:
        assert not self.errors, "the page logged errors:\n" + "\n".join(self.errors)


@pytest.fixture(params=list(WIDTHS))
async def tab(request: pytest.FixtureRequest, browser: Any) -> AsyncIterator[Tab]:
    width = str(request.param)
    mobile = width == "390px"
    context = await browser.new_context(viewport=WIDTHS[width], is_mobile=mobile, has_touch=mobile)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    opened = Tab(page, width)

    def on_console(message: Any) -> None:
        if message.type != "error":
            return
        if str(message.location.get("url", "")).endswith("/favicon.ico"):
            # The browser's own request for a site icon, not the page's: test_browser_pages checks it once.
            opened.icon_errors.append(message.text)
            return
        opened.errors.append(f"console: {message.text} ({message.location})")

    page.on("console", on_console)
    page.on("pageerror", lambda e: opened.errors.append(f"uncaught: {e}"))
    try:
        yield opened
    finally:
        await context.close()


def money_pattern(amount: str) -> re.Pattern[str]:
    """`amount` as the page shows it, as a whole word (so $1.00 does not match inside $11.00)."""
    return re.compile(r"(?<![\d,.])" + re.escape(amount) + r"(?![\d])")
