"""The dashboard with the keyboard alone, in a real browser: sign in, Tab through the navigation (every view in order,
each with a visible focus ring), open a view with Enter, open an anomaly and give it a verdict with the Space bar,
then go back to the navigation with Shift+Tab and approve a plan with Enter, each recorded by the API. No mouse
click, no console error. Its own anomaly and plan, so the other tests' are left as they expect them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Locator, expect

from outlay.kafka.producer import EventProducer
from outlay.store.engine import make_engine
from outlay.store.plans import PlanStore
from outlay.tenancy import DEFAULT_TENANT
from tests.web.conftest import TIMEOUT_MS, Seeded, Tab, _anomaly, _plan, plan_id, plan_title

pytestmark = pytest.mark.e2e  # through the running stack: broker, store, services, gateway, browser

VIEWS = ["Overview", "Engineering", "Finance", "Unit economics", "Anomalies", "Settings"]
SERVICE = "AmazonKinesis"  # this test's anomaly: no other test's
RESOURCE = "i-0keyboard"  # this test's plan

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const style = getComputedStyle(e);
  return { text: (e.textContent || "").trim(), tag: e.tagName, inNav: Boolean(e.closest("nav")),
           ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2 };
}"""


async def press_until(tab: Tab, control: Locator, key: str = "Tab", stops: int = 200) -> None:
    """Press `key` (Tab, Shift+Tab) until `control` has the focus, as a keyboard user moves, within `stops` presses;
    the control shows it has the focus (a ring)."""
    for _ in range(stops):
        if await control.evaluate("element => element === document.activeElement"):
            focused = await tab.page.evaluate(FOCUSED)
            assert focused["ring"], f"{focused['text']!r} has the focus but no visible focus ring"
            return
        await tab.page.keyboard.press(key)
    raise AssertionError(f"{control} never got the focus in {stops} presses of {key}")


async def seed_own(seeded: Seeded) -> str:
    """This test's anomaly (published as the anomaly worker does) and a proposed plan nobody has asked about: the
    operator's key, which made the seeded people's keys, decides such a plan alone."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    anomaly = _anomaly(SERVICE, now - timedelta(hours=1))
    async with EventProducer(seeded.stack.bootstrap_servers, client_id="web-test-keyboard") as producer:
        await producer.send_many([anomaly])
    engine = make_engine(seeded.stack.store_url)
    try:
        await PlanStore(engine).for_tenant(DEFAULT_TENANT).propose([_plan(RESOURCE, "42.00", now)], "us-east-1", now)
    finally:
        await engine.dispose()
    deadline = asyncio.get_running_loop().time() + TIMEOUT_MS / 1000
    while (reply := await seeded.http.get(f"/v1/anomalies/{anomaly.anomaly_id}")).status_code != 200:
        assert asyncio.get_running_loop().time() < deadline, "the gateway's sink never stored the anomaly"
        await asyncio.sleep(0.05)  # polling a condition: the sink stores it in its own time
    assert reply.json()["feedback"] is None
    return anomaly.anomaly_id


@pytest.mark.parametrize("tab", ["desktop"], indirect=True)  # a keyboard is a desktop's; 390 px is touch
async def test_the_keyboard_alone_reaches_every_view_gives_feedback_and_approves(seeded: Seeded, tab: Tab) -> None:
    anomaly_id = await seed_own(seeded)
    page: Any = tab.page
    keyboard = page.keyboard
    await page.goto(seeded.stack.base_url + "/")
    await press_until(tab, page.get_by_label("API key"))
    await keyboard.type(seeded.stack.operator_key)
    await keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=2, name="Overview")).to_be_visible()

    # From the top of the page, the first Tab stop skips to the content.
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await keyboard.press("Tab")
    skip = page.get_by_role("button", name="Skip to content")
    await expect(skip).to_be_focused()
    await keyboard.press("Enter")
    await expect(page.locator("main#content")).to_be_focused()

    # From the top of the page, Tab meets every view of the navigation in its order, each with a focus ring.
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    met: list[str] = []
    for _ in range(40):
        await keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED)
        if focused and focused["inNav"]:
            assert focused["ring"], f"the view {focused['text']!r} has the focus but no visible focus ring"
            met.append(focused["text"])
        elif met:
            break
    assert met == VIEWS, f"Tab met the views {met}"

    # Enter opens a view.
    anomalies = tab.nav("Anomalies")
    await press_until(tab, anomalies, "Shift+Tab")
    await keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=2, name="Anomalies", exact=True)).to_be_visible()
    await expect(anomalies).to_have_attribute("aria-current", "page")

    # An anomaly opened with Enter; the focus lands on its detail; a verdict given with the Space bar.
    entry = page.get_by_role("list", name="Anomalies, newest first").get_by_role("button").filter(has_text=SERVICE)
    await press_until(tab, entry)
    await keyboard.press("Enter")
    detail = page.get_by_role("article").filter(has=page.get_by_role("heading", level=3, name=SERVICE, exact=False))
    await expect(detail.get_by_role("heading", level=3)).to_be_focused()
    verdict = detail.get_by_role("group", name="Feedback").get_by_role("button", name="Real problem")
    await press_until(tab, verdict)
    await keyboard.press("Space")
    await expect(detail.get_by_role("status")).to_contain_text("the detector has the verdict")
    recorded = await seeded.get(f"/v1/anomalies/{anomaly_id}")
    assert recorded["feedback"] == "true_positive", recorded
    await expect(verdict).to_have_attribute("aria-pressed", "true")

    # Back to the navigation with Shift+Tab, Engineering with Enter, the plan approved with Enter.
    engineering = tab.nav("Engineering")
    await press_until(tab, engineering, "Shift+Tab")
    await keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=2, name="Engineering", exact=True)).to_be_visible()
    decide = page.get_by_role("group", name=f"Decide: {plan_title(RESOURCE)}")
    approve = decide.get_by_role("button", name="Approve and apply")
    await expect(approve).to_be_enabled()
    await press_until(tab, approve)
    await tab.screenshot("keyboard-approve")
    await keyboard.press("Enter")
    await expect(decide.locator("xpath=..").get_by_role("status")).to_contain_text("sent to the optimizer")
    trail = (await seeded.get(f"/v1/plans/{plan_id(RESOURCE)}/audit"))["entries"]
    assert [e for e in trail if e["event"] == "approve_requested"], trail
    tab.assert_no_errors()
