"""The finance view in a real browser: allocation by team and by service, estimated vs. billed and the budget
variance show the API's figures, and the variance exported as CSV is the API's answer, at 390 px and at a desktop
width, without console errors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import Locator, expect

from tests.web.conftest import Seeded, Tab, usd

pytestmark = pytest.mark.e2e  # through the running stack: broker, store, services, gateway, browser


def this_month_range(today: date) -> tuple[str, str]:
    """The finance view's "This month": the first day to tomorrow (exclusive), within the month."""
    nxt = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    return date(today.year, today.month, 1).isoformat(), min(today + timedelta(days=1), nxt).isoformat()


async def allocation_of(seeded: Seeded, key: str, start: str, end: str) -> dict[str, Decimal]:
    """USD cost per value of `key` from GET /v1/costs: per day, the bill where there is one, else the estimate."""
    answer = await seeded.get("/v1/costs", start=start, end=end, granularity="day", group_by=key)
    kinds: dict[tuple[str, str], dict[str, Decimal]] = {}
    for row in answer["rows"]:
        if row["group"]["currency"] != "USD":
            continue
        cell = kinds.setdefault((row["group"][key] or "(not set)", row["period_start"]), {})
        kind = row["group"]["cost_kind"]
        cell[kind] = cell.get(kind, Decimal(0)) + Decimal(row["cost"])
    totals: dict[str, Decimal] = {}
    for (value, _), by_kind in kinds.items():
        day_cost = by_kind.get("billed", by_kind.get("estimated", Decimal(0)))
        totals[value] = totals.get(value, Decimal(0)) + day_cost
    return totals


def row_of(table: Locator, header: str) -> Locator:
    return table.get_by_role("row").filter(has=table.page.get_by_role("rowheader", name=header, exact=True))


async def expect_allocation(table: Locator, expected: dict[str, Decimal]) -> None:
    await expect(table.get_by_role("row")).to_have_count(len(expected) + 2)  # the header and the total
    for value, cost in expected.items():
        await expect(row_of(table, value).get_by_role("cell").first).to_have_text(usd(cost))
    await expect(row_of(table, "Total").get_by_role("cell").first).to_have_text(usd(sum(expected.values(), Decimal(0))))


async def test_finance_shows_the_apis_allocation_reconciliation_and_variance(seeded: Seeded, tab: Tab) -> None:
    start, end = this_month_range(datetime.now(UTC).date())
    by_team = await allocation_of(seeded, "tag:team", start, end)
    by_service = await allocation_of(seeded, "service", start, end)
    assert set(by_team) >= {"checkout", "search"} and len(by_service) >= 4
    reconciliation = await seeded.get("/v1/costs/reconciliation", start=start, end=end)
    variance = (await seeded.get("/v1/budgets/variance"))["budgets"]

    await tab.sign_in(seeded)
    await tab.open_view("Finance")
    page = tab.page
    await expect(page.get_by_text(f"{start} to {end} (end excluded), UTC.")).to_be_visible()
    await expect(page.get_by_label("Allocate by")).to_have_value("tag:team")
    await expect_allocation(page.get_by_role("region", name="Allocation by Tag team"), by_team)
    await tab.screenshot("finance")
    await page.get_by_label("Allocate by").select_option("service")
    await expect_allocation(page.get_by_role("region", name="Allocation by Service"), by_service)

    totals = next(t for t in reconciliation["totals"] if t["currency"] == "USD")
    matched = row_of(page.get_by_role("region", name="Estimated vs. billed per service"), "Total").get_by_role("cell")
    await expect(matched.nth(0)).to_have_text(usd(totals["estimated"]))
    await expect(matched.nth(1)).to_have_text(usd(totals["billed"]))

    table = page.get_by_role("region", name="Budget variance")
    for status in variance:
        cells = table.get_by_role("row").filter(has_text=status["name"]).get_by_role("cell")
        await expect(cells.nth(0)).to_have_text(usd(status["amount"]))
        await expect(cells.nth(1)).to_have_text(usd(status["actual_to_date"]))
        await expect(cells.nth(2)).to_have_text(usd(status["forecast_total"]))
        await expect(cells.nth(4)).to_contain_text(status["summary"])

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Export budget variance as CSV").click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    exported = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text(encoding="utf-8-sig"))))
    assert [row["budget"] for row in exported] == [s["name"] for s in variance]
    for row, status in zip(exported, variance, strict=True):
        for column in ("scope", "currency", "amount", "actual_to_date", "forecast_total", "variance", "summary"):
            expected = "" if status[column] is None else str(status[column])
            assert row[column] == expected, (column, row, status)
    await tab.assert_fits()
    await tab.screenshot("finance-by-service")
    tab.assert_no_errors()
