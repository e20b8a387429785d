"""The dashboard as a whole in a real browser: every view the navigation offers (issue 9's five at least) opens with
the keyboard alone after a keyboard-only sign-in and loads without a failed request; a viewer reads every view and
is offered no change; each link (#/view) loads its view; the browser's request for a site icon is answered."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, expect

from tests.web.conftest import TIMEOUT_MS, Seeded, Tab

pytestmark = pytest.mark.e2e  # through the running stack: broker, store, services, gateway, browser

ISSUE_VIEWS = ("Overview", "Engineering", "Finance", "Anomalies", "Settings")  # issue 9's views, at least


async def views_of(tab: Tab) -> list[str]:
    """The views the navigation offers, in its order; issue 9's among them."""
    names = [n.strip() for n in await tab.page.get_by_role("navigation").get_by_role("button").all_inner_texts()]
    names += [n.strip() for n in await tab.page.get_by_role("navigation").get_by_role("link").all_inner_texts()]
    assert set(ISSUE_VIEWS) <= set(names), f"the navigation offers {names}"
    return names


async def tab_to(tab: Tab, control: Locator, stops: int = 60) -> None:
    """Press Tab until `control` has the focus (as a keyboard user moves), within `stops` presses."""
    for _ in range(stops):
        if await control.evaluate("element => element === document.activeElement"):
            return
        await tab.page.keyboard.press("Tab")
    raise AssertionError(f"{control} never got the focus in {stops} presses of Tab")


async def test_sign_in_and_every_view_by_keyboard_alone(seeded: Seeded, tab: Tab) -> None:
    page = tab.page
    await page.goto(seeded.stack.base_url + "/")
    key_field = page.get_by_label("API key")
    await tab_to(tab, key_field)
    await page.keyboard.type(seeded.stack.operator_key)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=2, name="Overview")).to_be_visible(timeout=TIMEOUT_MS)
    for name in await views_of(tab):
        control = tab.nav(name)
        await tab_to(tab, control)
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=2, name=name, exact=True)).to_be_visible()
        await expect(control).to_have_attribute("aria-current", "page")
        await settled(tab)
        await tab.assert_fits()
        await tab.screenshot(f"view-{name.lower().replace(' ', '-')}")
    tab.assert_no_errors()


async def test_a_viewer_reads_every_view_and_is_offered_no_change(seeded: Seeded, tab: Tab) -> None:
    """Every view respects the role: a viewer's key reads each view without a refused request, and each control that
    would change something is off, saying which scope it needs."""
    await tab.sign_in(seeded, seeded.people.viewer)
    page = tab.page
    for name in await views_of(tab):
        await tab.open_view(name)
        await settled(tab)
    await tab.open_view("Settings")
    await expect(page.get_by_role("button", name="New budget")).to_have_accessible_description(
        re.compile("Needs the write:budgets scope")
    )
    await expect(page.get_by_role("button", name="New budget")).to_be_disabled()
    await page.get_by_role("group", name="Settings sections").get_by_role("button", name="Webhooks").click()
    await expect(page.get_by_text(re.compile("Needs the write:webhooks scope"))).to_be_visible()
    await expect(page.get_by_role("button", name="New webhook")).to_have_count(0)
    await tab.open_view("Anomalies")
    await page.get_by_role("list", name="Anomalies, newest first").get_by_role("button").first.click()
    verdicts = page.get_by_role("group", name="Feedback").get_by_role("button")
    await expect(verdicts).to_have_count(3)
    for i in range(3):
        await expect(verdicts.nth(i)).to_be_disabled()
    await tab.screenshot("viewer-anomaly")
    tab.assert_no_errors()


async def settled(tab: Tab) -> None:
    """The view has loaded (nothing says "Loading…") and no request of it failed or was refused (no alert)."""
    page = tab.page
    await expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
    alerts = page.get_by_role("alert")
    assert await alerts.count() == 0, f"the view shows alerts: {await alerts.all_inner_texts()}"


@pytest.mark.parametrize("tab", ["desktop"], indirect=True)  # the same at every width: once keeps the suite short
async def test_a_views_link_opens_it_on_load(seeded: Seeded, tab: Tab) -> None:
    await tab.sign_in(seeded)
    page = tab.page
    for name in (await views_of(tab))[1:]:
        await page.goto("about:blank")  # a new document each time, not a hash change in the same one
        await page.goto(f"{seeded.stack.base_url}/#/{name.lower().replace(' ', '-')}")
        await expect(page.get_by_role("heading", level=2, name=name, exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    tab.assert_no_errors()


@pytest.mark.parametrize("tab", ["desktop"], indirect=True)
async def test_the_browser_finds_the_sites_icon(seeded: Seeded, tab: Tab) -> None:
    """Browsers ask every site for an icon (the one the page names, else /favicon.ico); a 404 shows in the console
    as an error."""
    page = tab.page
    await page.goto(seeded.stack.base_url + "/")
    named = await page.evaluate("document.querySelector('link[rel~=icon]')?.getAttribute('href') ?? null")
    icon = named or "/favicon.ico"
    if icon.startswith("data:"):  # an inline icon: nothing to fetch
        assert icon.startswith(("data:image/", "data:,")), icon
        return
    answer = await page.request.get(seeded.stack.base_url + icon if icon.startswith("/") else icon)
    assert answer.status == 200, f"the site's icon {icon} answers {answer.status} (the page names {named!r})"
