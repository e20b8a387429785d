"""The anomalies view in a real browser: the list and a detail show the API's figures, and a verdict given with a
click is recorded by the API, at 390 px and at a desktop width, without console errors."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.web.conftest import ANOMALY_SERVICES, Seeded, Tab, money_pattern, usd

pytestmark = pytest.mark.e2e  # through the running stack: broker, store, services, gateway, browser


async def test_anomaly_detail_matches_the_api_and_feedback_is_recorded(seeded: Seeded, tab: Tab) -> None:
    anomaly_id = seeded.anomalies[tab.width]
    service = ANOMALY_SERVICES[tab.width]
    anomaly = await seeded.get(f"/v1/anomalies/{anomaly_id}")
    assert anomaly["feedback"] is None, "another test already judged this width's anomaly"

    await tab.sign_in(seeded)
    await tab.open_view("Anomalies")
    page = tab.page
    entries = page.get_by_role("list", name="Anomalies, newest first").get_by_role("button")
    listed = (await seeded.get("/v1/anomalies", status="any", limit="50"))["items"]
    await expect(entries).to_have_count(len(listed))
    entry = entries.filter(has_text=service)
    await expect(entry).to_contain_text(money_pattern(usd(anomaly["impact"])))
    await expect(entry).to_contain_text(anomaly["severity"])
    await tab.screenshot("anomalies")

    await entry.click()
    detail = page.get_by_role("article", name=f"{service} · {anomaly['dimensions']['billing_account_id']}")
    await expect(detail).to_be_visible()
    await expect(detail.get_by_role("heading", level=3)).to_be_focused()  # keyboard and 390 px users land on it
    await expect(detail).to_contain_text(money_pattern(usd(anomaly["expected_cost"])))
    await expect(detail).to_contain_text(money_pattern(usd(anomaly["actual_cost"])))
    await expect(detail).to_contain_text(money_pattern(usd(anomaly["impact"])))
    for cause in anomaly["root_cause"]:
        await expect(detail.get_by_role("listitem").filter(has_text=cause)).to_be_visible()
    await tab.screenshot("anomaly-detail")

    await detail.get_by_role("group", name="Feedback").get_by_role("button", name="False alarm").click()
    await expect(detail.get_by_role("status")).to_contain_text("the detector has the verdict")
    recorded = await seeded.get(f"/v1/anomalies/{anomaly_id}")
    assert recorded["feedback"] == "false_positive" and recorded["feedback_at"], recorded
    # The list is read again after the verdict: the detail shows it as given, from the API's answer.
    await expect(detail).to_contain_text("Given: false positive")
    await expect(detail.get_by_role("button", name="False alarm")).to_have_attribute("aria-pressed", "true")
    await tab.assert_fits()
    await tab.screenshot("anomaly-feedback")
    tab.assert_no_errors()
