"""Loading, empty and error states in a real browser: the Anomalies view's list request is held, answered empty, and
failed (then retried) by intercepting it in the page, so each state shows as the person would see it and the view
recovers from the failure without a reload."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import TIMEOUT_MS, Seeded, Tab

pytestmark = pytest.mark.e2e  # through the running stack: broker, store, services, gateway, browser

LIST = re.compile(r"/v1/anomalies(\?|$)")  # the list request only, not an anomaly's detail or feedback


async def test_the_list_shows_loading_until_it_is_answered(seeded: Seeded, tab: Tab) -> None:
    release = asyncio.Event()

    async def held(route: Any) -> None:
        await release.wait()
        await route.continue_()

    await tab.sign_in(seeded)
    await tab.page.route(LIST, held)
    await tab.open_view("Anomalies")
    await expect(tab.page.get_by_role("status").filter(has_text="Loading anomalies")).to_be_visible()
    release.set()
    await expect(tab.page.get_by_role("list", name="Anomalies, newest first")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(tab.page.get_by_role("status").filter(has_text="Loading anomalies")).to_have_count(0)
    tab.assert_no_errors()


async def test_an_empty_answer_says_there_is_nothing_and_why(seeded: Seeded, tab: Tab) -> None:
    await tab.sign_in(seeded)
    empty = json.dumps({"items": [], "next_cursor": None})
    await tab.page.route(LIST, lambda route: route.fulfill(status=200, content_type="application/json", body=empty))
    await tab.open_view("Anomalies")
    await expect(tab.page.get_by_text("No anomalies found.")).to_be_visible()
    await expect(tab.page.get_by_role("list", name="Anomalies, newest first")).to_have_count(0)
    await tab.screenshot("state-empty")
    tab.assert_no_errors()


async def test_a_failed_request_says_so_and_try_again_recovers(seeded: Seeded, tab: Tab) -> None:
    problem = json.dumps({"title": "Service Unavailable", "status": 503, "detail": "the store is unreachable"})
    failing = {"on": True}

    async def answer(route: Any) -> None:
        if failing["on"]:
            await route.fulfill(status=503, content_type="application/problem+json", body=problem)
        else:
            await route.continue_()

    await tab.sign_in(seeded)
    await tab.page.route(LIST, answer)
    await tab.open_view("Anomalies")
    alert = tab.page.get_by_role("alert").filter(has_text="Could not load anomalies")
    await expect(alert).to_be_visible(timeout=TIMEOUT_MS)  # after the client's own retries
    await expect(alert).to_contain_text("503")
    await tab.screenshot("state-error")
    failing["on"] = False
    await alert.get_by_role("button", name="Try again").click()
    await expect(tab.page.get_by_role("list", name="Anomalies, newest first")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(alert).to_have_count(0)
    # The browser logs the refused responses themselves; nothing else may be an error.
    assert all("503" in error for error in tab.errors), tab.errors
