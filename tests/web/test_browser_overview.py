"""The overview in a real browser shows the API's figures: spend this month and last, the month-end forecast with its
interval, and each budget's status, at 390 px and at a desktop width, without console errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.async_api import Locator, expect

from tests.web.conftest import Seeded, Tab, usd

pytestmark = pytest.mark.e2e  # through the running stack: broker, store, services, gateway, browser


def month_start(day: date, months_back: int = 0) -> date:
    year, month = day.year, day.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


async def daily_spend(seeded: Seeded, start: date, end: date) -> dict[str, Decimal]:
    """Cost per day in USD from GET /v1/costs: a day's bill where it has one, else its live estimate (the basis the
    forecast and the budgets use, `billed_else_estimated`)."""
    answer = await seeded.get("/v1/costs", start=start.isoformat(), end=end.isoformat(), granularity="day",
                              group_by=["currency", "cost_kind"])  # fmt: skip
    billed: dict[str, Decimal] = {}
    estimated: dict[str, Decimal] = {}
    for row in answer["rows"]:
        if row["group"]["currency"] != "USD":
            continue
        into = estimated if row["group"]["cost_kind"] == "estimated" else billed
        day = row["period_start"][:10]
        into[day] = into.get(day, Decimal(0)) + Decimal(row["cost"])
    return {day: billed.get(day, estimated.get(day, Decimal(0))) for day in billed.keys() | estimated.keys()}


def card(tab: Tab, heading: str) -> Locator:
    """The card (an article) under `heading`."""
    page = tab.page
    return page.get_by_role("article").filter(has=page.get_by_role("heading", name=heading, exact=True))


async def test_overview_shows_the_apis_spend_forecast_and_budgets(seeded: Seeded, tab: Tab) -> None:
    today = datetime.now(UTC).date()
    this_start, last_start = month_start(today), month_start(today, 1)
    tomorrow = today + timedelta(days=1)
    days = await daily_spend(seeded, last_start, tomorrow)
    this_month = sum((c for d, c in days.items() if d >= this_start.isoformat()), Decimal(0))
    last_month = sum((c for d, c in days.items() if d < this_start.isoformat()), Decimal(0))
    assert this_month > 0 and last_month > 0, "the seed left a month without spend"
    forecast = (await seeded.get("/v1/forecasts", scope="total"))["forecasts"]
    month_end = next(f["month_end"] for f in forecast if f["currency"] == "USD")
    budgets = (await seeded.get("/v1/budgets/variance"))["budgets"]
    assert budgets, "the seed made budgets"

    await tab.sign_in(seeded)
    page = tab.page
    await expect(page.get_by_role("heading", level=2, name="Overview")).to_be_visible()
    # Each card's figure is an element of its own whose whole text is the amount.
    await expect(card(tab, "This month to date").get_by_text(usd(this_month), exact=True)).to_be_visible()
    await expect(card(tab, "Last month").get_by_text(usd(last_month), exact=True)).to_be_visible()
    forecast_card = card(tab, "Forecast to month end")
    await expect(forecast_card.get_by_text(usd(month_end["expected"]), exact=True)).to_be_visible()
    await expect(forecast_card).to_contain_text(f"{usd(month_end['lower80'])} – {usd(month_end['upper80'])}")
    budget_list = page.get_by_role("region", name="Budgets").get_by_role("listitem")
    await expect(budget_list).to_have_count(len(budgets))
    for status in budgets:
        item = budget_list.filter(has_text=status["name"])
        await expect(item).to_contain_text(f"{usd(status['actual_to_date'])} of {usd(status['amount'])}")
        await expect(item).to_contain_text(status["summary"])
    chart = page.get_by_role("img", name="Daily cost this month against last month", exact=False)
    await expect(chart).to_be_visible()
    await tab.assert_fits()
    await tab.screenshot("overview")
    tab.assert_no_errors()


async def service_totals(seeded: Seeded, start: date, end: date) -> dict[str, Decimal]:
    """USD cost per service over [start, end) from GET /v1/costs grouped by service: each day's bill where it has
    one, else its live estimate."""
    answer = await seeded.get("/v1/costs", start=start.isoformat(), end=end.isoformat(), granularity="day",
                              group_by=["service"])  # fmt: skip
    billed: dict[tuple[str, str], Decimal] = {}
    estimated: dict[tuple[str, str], Decimal] = {}
    for row in answer["rows"]:
        if row["group"]["currency"] != "USD":
            continue
        into = estimated if row["group"]["cost_kind"] == "estimated" else billed
        key = (row["group"]["service"] or "(none)", row["period_start"][:10])
        into[key] = into.get(key, Decimal(0)) + Decimal(row["cost"])
    totals: dict[str, Decimal] = {}
    for key in billed.keys() | estimated.keys():
        totals[key[0]] = totals.get(key[0], Decimal(0)) + billed.get(key, estimated.get(key, Decimal(0)))
    return totals


def percent_text(now: Decimal, before: Decimal) -> str:
    """The dashboard's percent cell: "new" from a zero base, else formatChange of the change as doubles."""
    if before == 0:
        return "new"
    nanos = Decimal(1_000_000_000)
    change = float(int((now - before) * nanos)) / 1e9 / (float(int(before * nanos)) / 1e9) * 100
    return f"{'+' if change >= 0 else '−'}{abs(change):.1f}%"


async def test_overview_movers_range_and_savings_match_the_api(seeded: Seeded, tab: Tab) -> None:
    today = datetime.now(UTC).date()
    this_start, last_start, tomorrow = month_start(today), month_start(today, 1), today + timedelta(days=1)
    # The default range, this month to date, against as many first days of last month (at most all of it).
    before_end = min(last_start + (tomorrow - this_start), this_start)
    now, before = (
        await service_totals(seeded, this_start, tomorrow),
        await service_totals(seeded, last_start, before_end),
    )
    moved = [(name, now.get(name, Decimal(0)), before.get(name, Decimal(0))) for name in now.keys() | before.keys()]
    moved = [m for m in moved if m[1] != m[2]]
    moved.sort(key=lambda m: (-abs(m[1] - m[2]), m[0]))
    assert moved, "the seed's services did not move between last month and this one"
    savings = await seeded.get("/v1/savings")

    await tab.sign_in(seeded)
    page = tab.page
    await expect(page.get_by_role("heading", level=2, name="Overview")).to_be_visible()
    label = page.get_by_test_id("overview-range-label")
    await expect(label).to_have_text(f"Showing {this_start.isoformat()} – {today.isoformat()}")

    rows = page.get_by_test_id("top-movers-table").locator("tbody tr")
    await expect(rows).to_have_count(min(len(moved), 10))
    for i, (name, current, previous) in enumerate(moved[:10]):
        change = current - previous
        cells = [
            name,
            usd(current),
            usd(previous),
            ("+" if change > 0 else "") + usd(change),
            percent_text(current, previous),
        ]
        await expect(rows.nth(i).locator("th, td")).to_have_text(cells)

    box = page.get_by_test_id("overview-savings")
    await expect(box.get_by_test_id("savings-achieved")).to_have_text(usd(savings["achieved_monthly"]))
    await expect(box.get_by_test_id("savings-available")).to_have_text(usd(savings["available_monthly"]))
    await expect(box).to_contain_text(
        f"{savings['applied_plans']} applied plan(s); measured {usd(savings['measured_monthly'])}"
    )
    await expect(box).to_contain_text(f"{savings['available_plans']} open plan(s)")

    # The range selector drives the daily chart (and the movers): the last 30 days, today included.
    await page.get_by_test_id("overview-range-select").select_option("30d")
    start_30 = tomorrow - timedelta(days=30)
    shown = f"{start_30.isoformat()} – {today.isoformat()}"
    await expect(label).to_have_text(f"Showing {shown}")
    chart = page.get_by_role("img", name=f"Daily cost {shown} against the period before", exact=False)
    await expect(chart).to_be_visible()
    await expect(page.get_by_role("img", name="Daily cost this month against last month", exact=False)).to_have_count(0)
    await expect(page.get_by_role("region", name=f"Top movers by service, {shown}", exact=False)).to_be_visible()
    # A custom range: both days included.
    await page.get_by_test_id("overview-range-select").select_option("custom")
    custom_start, custom_end = today - timedelta(days=9), today - timedelta(days=3)
    await page.get_by_test_id("overview-range-start").fill(custom_start.isoformat())
    await page.get_by_test_id("overview-range-end").fill(custom_end.isoformat())
    shown = f"{custom_start.isoformat()} – {custom_end.isoformat()}"
    await expect(label).to_have_text(f"Showing {shown}")
    await expect(
        page.get_by_role("img", name=f"Daily cost {shown} against the period before", exact=False)
    ).to_be_visible()
    # "This month to date" stays as it is whatever the range.
    await expect(card(tab, "This month to date")).to_be_visible()
    await tab.assert_fits()
    await tab.screenshot("overview-range")
    tab.assert_no_errors()
