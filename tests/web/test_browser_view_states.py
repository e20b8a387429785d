"""Every request of every view in a real browser, in its three states besides its data (issue 9: "loading and empty
and error states for every request"):

- loading: every API request of the page (but GET /v1/me, who the key is) is held by intercepting it, and each of
  the view's sections says what it is loading;
- error: the held requests, and the client's own retries, are answered 503, and each section says which of its
  requests failed, with a button that asks again; once the API answers again, "Try again" brings each section back;
- empty: a new organisation (POST /v1/tenants, its first admin key) has no cost, budget, policy, webhook or plan: the
  real API's empty answers, and each section says there is nothing yet (and how it gets something).

Once, at 390 px (the narrow screen is where a long message would overflow): the states are the same markup at every
width, and the desktop width is in the other browser tests. The only console errors allowed are the browser's own
lines for the 503 answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from typing import Any

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from playwright.async_api import expect

from tests.web.conftest import TIMEOUT_MS, Seeded, Tab

pytestmark = pytest.mark.e2e  # through the running stack: broker, store, services, gateway, browser

API = re.compile(r"/v1/(?!me(?:$|\?))")  # every API request but GET /v1/me
PROBLEM = json.dumps({"title": "Service Unavailable", "status": 503, "detail": "the store is unreachable"})
SETTINGS_SECTIONS = ("Budgets", "Policies", "Webhooks", "API keys", "Members and roles")

# Per view (and per settings section): what each of its requests says while it loads, and when it fails.
LOADING: dict[str, tuple[str, ...]] = {
    "Overview": ("costs", "the forecast", "budgets", "the savings", "the movers"),
    "Engineering": (
        "the last hour's cost",
        "the tag keys",
        "deployments",
        "hourly cost",
        "the efficiency score",
        "the cost of recent pull requests",
        "recommendations",
    ),
    "Finance": ("the allocation dimensions", "estimated vs. billed", "the budget variance"),
    "Unit economics": ("the unit costs", "the cost correlation"),
    "Budgets": ("budgets",),
    "Policies": ("policies",),
    "Webhooks": ("webhooks",),
    "API keys": ("API keys",),
    "Members and roles": ("members",),
}
FAILED: dict[str, tuple[str, ...]] = {
    "Overview": ("costs", "budgets", "the savings", "the movers"),  # the forecast waits for the costs: below
    "Engineering": (
        "the last hour's cost",
        "the tag keys",
        "deployments",
        "hourly cost",
        "the last 30 days' cost",
        "the cost of recent pull requests",
        "recommendations",
    ),
    "Finance": ("the dimensions", "estimated vs. billed", "the budget variance"),
    "Unit economics": (
        "the unit costs (GET /v1/unit-costs)",
        "the cost correlation (GET /v1/unit-economics/correlation)",
    ),
    "Budgets": ("budgets",),
    "Policies": ("policies",),
    "Webhooks": ("webhooks",),
    "API keys": ("API keys",),
    "Members and roles": ("members",),
}
# What a new organisation's views say: nothing yet, in each section.
EMPTY: dict[str, tuple[str, ...]] = {
    "Overview": (
        "No cost recorded last month or this month yet.",
        "No forecast yet: the forecast needs cost history.",
        "No budgets yet",
        "No savings yet",
        "No service cost changed between the two periods.",
    ),
    "Engineering": (
        "No cost in the last hour",
        "No cost carries a team tag yet.",
        "No cost carries an env or environment tag yet.",
        "No deploy reported yet",
        "No step in any service's cost",
        "No score: no cost in the last 30 days.",
        "No pull request reported yet",
        "No recommendation from the latest scan.",
    ),
    "Finance": (
        "No cost in this period to allocate.",
        "No estimated or billed cost in this period.",
        "No budgets yet: make one in Settings",
    ),
    "Unit economics": ("No business figures in this period.", "No days with both cost and a whole-business"),
    "Budgets": ("No budgets yet.",),
    "Policies": ("No policies yet.",),
    "Webhooks": ("No webhooks yet.",),
    "Members and roles": ("No members yet.",),
}


def slug(view: str) -> str:
    return view.lower().replace(" ", "-")


class Api:
    """The page's API requests (but GET /v1/me), answered as the test says: held, failed (503) or passed on."""

    def __init__(self) -> None:
        self.mode = "hold"
        self.released = asyncio.Event()
        self.failed = 0

    async def handle(self, route: Any) -> None:
        if self.mode == "hold":
            await self.released.wait()
        if self.mode == "fail":
            self.failed += 1
            await route.fulfill(status=503, content_type="application/problem+json", body=PROBLEM)
        else:
            await route.continue_()

    def fail(self) -> None:
        self.mode = "fail"
        self.released.set()

    def pass_on(self) -> None:
        self.mode = "pass"
        self.released.set()


async def open_fresh(tab: Tab, seeded: Seeded, view: str) -> None:
    """The view loaded anew (a new document, nothing cached), signed in (the tab keeps its key)."""
    await tab.page.goto("about:blank")
    await tab.page.goto(f"{seeded.stack.base_url}/#/{slug(view)}")
    await expect(tab.page.get_by_role("heading", level=2, name=view, exact=True)).to_be_visible()


def sections_of(view: str) -> list[str]:
    """The parts of `view` whose states are checked one after the other: the settings sections, else the view."""
    return list(SETTINGS_SECTIONS) if view == "Settings" else [view]


async def show_section(tab: Tab, section: str) -> None:
    if section in SETTINGS_SECTIONS:
        await tab.page.get_by_role("group", name="Settings sections").get_by_role("button", name=section).click()
        await expect(tab.page.get_by_role("heading", level=3, name=section, exact=True)).to_be_visible()


@pytest.mark.parametrize("tab", ["390px"], indirect=True)
@pytest.mark.parametrize("view", ["Overview", "Engineering", "Finance", "Unit economics", "Settings"])
async def test_each_request_shows_loading_then_an_error_then_recovers(seeded: Seeded, tab: Tab, view: str) -> None:
    page = tab.page
    await tab.sign_in(seeded)
    api = Api()
    await page.route(API, api.handle)
    await open_fresh(tab, seeded, view)
    loading = page.get_by_role("status").filter(has_text=re.compile(r"^Loading "))
    for section in sections_of(view):
        await show_section(tab, section)
        for what in LOADING[section]:
            await expect(loading.filter(has_text=re.compile(f"^Loading {re.escape(what)}…$"))).to_have_count(1)
    await tab.assert_fits()
    await tab.screenshot(f"state-loading-{slug(view)}")

    api.fail()  # the held requests and every retry: 503
    alerts = page.get_by_role("alert")
    for section in sections_of(view):
        await show_section(tab, section)
        for what in FAILED[section]:
            alert = alerts.filter(has_text=re.compile(f"^Could not load {re.escape(what)} \\(HTTP 503\\)"))
            await expect(alert).to_have_count(1, timeout=TIMEOUT_MS)  # after the client's own retries
            await expect(alert.get_by_role("button", name="Try again")).to_be_visible()
        await expect(loading).to_have_count(0)
    assert api.failed > 0
    await tab.assert_fits()
    await tab.screenshot(f"state-error-{slug(view)}")

    api.pass_on()  # the API answers again: each "Try again" brings its section back
    retry = page.get_by_role("button", name="Try again")
    for section in sections_of(view):
        await show_section(tab, section)
        for _ in range(3 * len(FAILED[section]) + 2):  # a click a failed request (the movers' two: one each), and
            # room for clicks that missed a button re-rendered under them on a busy machine
            if not await retry.count():
                break
            # Gone meanwhile: a request that another's retry brought back with it.
            with contextlib.suppress(PlaywrightTimeoutError):
                await retry.first.click(timeout=5_000)
            await expect(loading).to_have_count(0)
        try:  # every section is back, however its button went
            await expect(alerts).to_have_count(0)
        except AssertionError:  # name what still fails
            raise AssertionError(f"still failing in {section}: {await alerts.all_inner_texts()}") from None
    # The browser logs the refused responses themselves; nothing else may be an error.
    assert all("503" in error for error in tab.errors), tab.errors


@pytest.mark.parametrize("tab", ["390px"], indirect=True)
async def test_a_new_organisation_sees_each_view_say_there_is_nothing_yet(seeded: Seeded, tab: Tab) -> None:
    tenant = f"empty-{uuid.uuid4().hex[:8]}"
    made = await seeded.http.post("/v1/tenants", json={"tenant_id": tenant, "name": "Nothing yet"})
    assert made.status_code == 201, made.text
    key = made.json()["admin_key"]
    for path in ("/v1/budgets", "/v1/policies", "/v1/webhooks", "/v1/plans", "/v1/iac/estimates"):
        answer = await seeded.get(path, key=key)
        assert not any(isinstance(v, list) and v for v in answer.values()), f"{path}: {answer}"

    page = tab.page
    await tab.sign_in(seeded, key)
    for view in ("Overview", "Engineering", "Finance", "Unit economics", "Settings"):
        await tab.open_view(view)
        for section in sections_of(view):
            await show_section(tab, section)
            await expect(page.get_by_role("status").filter(has_text=re.compile(r"^Loading "))).to_have_count(0)
            for text in EMPTY.get(section, ()):
                await expect(page.get_by_text(text).first).to_be_visible()
            assert await page.get_by_role("alert").count() == 0, await page.get_by_role("alert").all_inner_texts()
            await tab.assert_fits()
        await tab.screenshot(f"state-empty-{slug(view)}")
    # Each table the views have is absent: nothing to list.
    await tab.open_view("Overview")
    await expect(page.get_by_test_id("top-movers-table")).to_have_count(0)
    tab.assert_no_errors()


@pytest.mark.parametrize("tab", ["390px"], indirect=True)
async def test_the_overviews_later_requests_fail_on_their_own_and_recover(seeded: Seeded, tab: Tab) -> None:
    """The overview asks for the forecast once the costs have come (there is no forecast without cost history):
    when the costs fail it says so instead of loading forever. The forecast, and the budgets' status (asked beside
    the budgets), each failing alone say so in their own section, and "Try again" brings each back."""
    page = tab.page
    card = page.get_by_role("article").filter(has=page.get_by_role("heading", name="Forecast to month end"))
    budgets = page.get_by_role("region", name="Budgets", exact=True)
    costs = re.compile(r"/v1/costs\?")
    await page.route(costs, lambda route: route.fulfill(status=503, body=PROBLEM))
    await tab.sign_in(seeded)
    await expect(card).to_contain_text("No forecast without the costs", timeout=TIMEOUT_MS)
    await expect(card.get_by_role("status")).to_have_count(0)
    await page.unroute(costs)

    later = re.compile(r"/v1/(forecasts\?|budgets/variance)")
    await page.route(later, lambda route: route.fulfill(status=503, body=PROBLEM))
    await open_fresh(tab, seeded, "Overview")
    forecast_failed = card.get_by_role("alert").filter(
        has_text=re.compile(r"^Could not load the forecast \(HTTP 503\)")
    )
    status_failed = budgets.get_by_role("alert").filter(has_text=re.compile(r"^Could not load the budgets' status"))
    await expect(forecast_failed).to_be_visible()
    await expect(status_failed).to_contain_text("HTTP 503")
    await expect(budgets.get_by_role("listitem").first).to_contain_text("Status unavailable.")
    await tab.assert_fits()
    await page.unroute(later)
    await forecast_failed.get_by_role("button", name="Try again").click()
    await expect(card.get_by_text(re.compile(r"^80% interval"))).to_be_visible()
    await expect(forecast_failed).to_have_count(0)
    await status_failed.get_by_role("button", name="Try again").click()
    await expect(status_failed).to_have_count(0)
    # Each budget says its status again (the overview test checks it is the API's).
    await expect(budgets.get_by_text(re.compile("Status unavailable|Loading status"))).to_have_count(0)
    await expect(budgets.get_by_role("listitem").first.locator(".help").last).not_to_be_empty()
    assert all("503" in error for error in tab.errors), tab.errors
