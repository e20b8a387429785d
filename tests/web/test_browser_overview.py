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
