"""The dashboard at 390 px (a phone, 390x844) in a real browser, with the seeded stack's real figures: no view, nor
any settings section, is wider than the screen (the page never scrolls sideways, and no element reaches past its
right edge unless it sits in a table's own scroll box), and the overview's top movers fit without scrolling at all:
on a narrow screen each mover is a card of labelled figures."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.web.conftest import Seeded, Tab

pytestmark = pytest.mark.e2e  # through the running stack: broker, store, services, gateway, browser

VIEWS = ("Overview", "Engineering", "Finance", "Unit economics", "Anomalies", "Settings")
SETTINGS_SECTIONS = ("Budgets", "Policies", "Webhooks", "API keys", "Members and roles")

# Elements whose right edge is past the window, leaving out those inside a box that scrolls or clips sideways.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (element) => {
    for (let up = element.parentElement; up && up !== document.body; up = up.parentElement) {
      const x = getComputedStyle(up).overflowX;
      if (x === "auto" || x === "scroll" || x === "hidden" || x === "clip") return true;
    }
    return false;
  };
  const found = [];
  for (const element of document.body.querySelectorAll("*")) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 0.5 || clipped(element)) continue;
    const name = element.tagName.toLowerCase() + (element.className ? "." + String(element.className).split(" ").join(".") : "");
    found.push(`${name} ends at ${Math.round(box.right)}px: ${(element.textContent || "").trim().slice(0, 60)}`);
  }
  return found;
}"""


async def assert_nothing_overflows(tab: Tab, where: str) -> None:
    page = tab.page
    scroll_width = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"{where}: the page is {scroll_width}px wide at 390 px"
    found = await page.evaluate(OVERFLOWING)
    assert not found, f"{where}: past the right edge at 390 px:\n" + "\n".join(found)


@pytest.mark.parametrize("tab", ["390px"], indirect=True)
async def test_no_view_is_wider_than_a_phone(seeded: Seeded, tab: Tab) -> None:
    page = tab.page
    await tab.sign_in(seeded)
    assert page.viewport_size == {"width": 390, "height": 844}
    settled = page.get_by_role("status").filter(has_text="Loading")

    # The overview's movers: real rows, and the table's own box does not scroll sideways.
    movers = page.get_by_role("region", name="Top movers by service", exact=False)
    await expect(movers.get_by_role("row").nth(1)).to_be_visible()
    fits = await movers.evaluate("box => [box.scrollWidth, box.clientWidth]")
    assert fits[0] <= fits[1], f"the movers table scrolls sideways: {fits[0]}px in a {fits[1]}px box"
    table = movers.get_by_role("table")
    assert (await table.evaluate("t => t.getBoundingClientRect().width")) <= fits[1]
    # Each figure of a mover says what it is (its column's name, shown beside it on a narrow screen).
    first = movers.get_by_role("row").nth(1).get_by_role("cell").first
    label = await first.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert "This period" in label, label
    await tab.screenshot("layout-overview-movers")

    for view in VIEWS:
        await tab.open_view(view)
        await expect(settled).to_have_count(0)
        if view == "Settings":
            for section in SETTINGS_SECTIONS:
                await page.get_by_role("group", name="Settings sections").get_by_role("button", name=section).click()
                await expect(page.get_by_role("heading", level=3, name=section, exact=True)).to_be_visible()
                await expect(settled).to_have_count(0)
                await assert_nothing_overflows(tab, f"Settings, {section}")
        else:
            await assert_nothing_overflows(tab, view)
    tab.assert_no_errors()
