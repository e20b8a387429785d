"""Signing in with an e-mail and a password in a real browser (issue 9: "sign-in with an API key or user session;
every view respects roles"): a viewer signs in through the form and is offered no decision on a plan (and the gateway
refuses one sent with their session cookie); an approver sets their password through the one-time link an admin
issued, is signed in by it, and approves the plan an engineer asked for; signing out ends the session on the server.
At 390 px and at a desktop width, without console errors, with screenshots."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from outlay.events.plan import ActionPlan, Kind, PlannedChange, PlanStatus, Risk
from outlay.store.engine import make_engine
from outlay.store.plans import PlanStore
from outlay.tenancy import DEFAULT_TENANT
from tests.web.conftest import TIMEOUT_MS, Seeded, Tab

pytestmark = pytest.mark.e2e  # through the running stack: broker, store, services, gateway, browser

PASSWORDS = {"viewer": "viewer's long passphrase", "approver": "approver's long passphrase"}
REGION = "eu-west-1"  # a region of its own: the other browser tests' plans (us-east-1) stay as they are
# One plan per width, proposed together (a scan of a region proposes all its plans at once).
RESOURCES = {"390px": "i-0session390", "desktop": "i-0sessiondesk"}


def _plan(resource: str, now: datetime) -> ActionPlan:
    change = PlannedChange(
        resource_id=resource, kind=Kind.RIGHTSIZE, summary=f"resize {resource} to t3.large",
        monthly_saving=Decimal("27.40"), confidence=0.9, risk=Risk.LOW, current="m5.xlarge", proposed="t3.large",
    )  # fmt: skip
    return ActionPlan(
        plan_id=f"plan-{resource}", status=PlanStatus.PROPOSED, region=REGION, title=f"Session test: rightsize {resource}",
        changes=[change], monthly_saving=Decimal("27.40"), risk=Risk.LOW, requires_approval=True, created_at=now,
        updated_at=now, tenant_id=DEFAULT_TENANT,
    )  # fmt: skip


async def _asked_plan(seeded: Seeded, width: str) -> ActionPlan:
    """This width's plan, proposed, with an engineer's request for approval, made with a key the engineer made
    themselves: the operator made the engineer's first key and issues the approver's set-password link, so a request
    through that first key could have been the operator's, whom the approval rule then refuses the approver's
    session (two people must decide)."""
    now = datetime.now(UTC).replace(microsecond=0)
    plans = {w: _plan(r, now) for w, r in RESOURCES.items()}
    engine = make_engine(seeded.stack.store_url)
    try:
        await PlanStore(engine).for_tenant(DEFAULT_TENANT).propose(list(plans.values()), REGION, now)
    finally:
        await engine.dispose()
    plan = plans[width]
    stored = await seeded.get(f"/v1/plans/{plan.plan_id}")
    assert stored["status"] == "proposed", stored
    if not stored.get("requested_by"):
        own = await seeded.http.post("/v1/me/keys", json={"name": f"engineer's own {width}"},
                                     headers=seeded.stack.bearer(seeded.people.engineer))  # fmt: skip
        assert own.status_code == 201, own.text
        asked = await seeded.http.post(f"/v1/plans/{plan.plan_id}/request-approval", json={"comment": "cheap"},
                                       headers=seeded.stack.bearer(own.json()["key"]))  # fmt: skip
        assert asked.status_code == 200, asked.text
    return plan


async def _password_link(seeded: Seeded, role: str) -> str:
    """The one-time set-password path an admin hands to the person of `role` (POST /v1/users/{id}/password-token)."""
    issued = await seeded.http.post(f"/v1/users/{seeded.people.ids[role]}/password-token")
    assert issued.status_code == 201, issued.text
    return str(issued.json()["set_password_path"])


async def _session_cookie(tab: Tab) -> dict[str, Any]:
    cookies = [c for c in await tab.page.context.cookies() if c["name"].endswith("outlay_session")]
    assert len(cookies) == 1, cookies
    return cookies[0]  # type: ignore[no-any-return]


async def _sign_out(tab: Tab, seeded: Seeded, cookie: dict[str, Any]) -> None:
    """Sign out through the page; the cookie the browser held is refused by the gateway from then on."""
    page = tab.page
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Email", exact=True)).to_be_visible()
    await page.reload()  # nothing left signs this browser in again
    await expect(page.get_by_label("Email", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    async with httpx.AsyncClient(base_url=seeded.stack.base_url) as http:
        kept = await http.get("/v1/me", headers={"Cookie": f"{cookie['name']}={cookie['value']}"})
    assert kept.status_code == 401, kept.text  # ended on the server, not only forgotten by the browser


async def test_a_viewer_signs_in_with_a_password_and_is_offered_no_decision(seeded: Seeded, tab: Tab) -> None:
    plan = await _asked_plan(seeded, tab.width)
    path = await _password_link(seeded, "viewer")
    token = path.split("=", 1)[1]
    done = await seeded.http.post("/v1/session/password", json={"token": token, "password": PASSWORDS["viewer"]})
    assert done.status_code == 200, done.text
    email = done.json()["email"]

    page = tab.page
    await page.goto(seeded.stack.base_url + "/")
    await expect(page.get_by_label("API key")).to_be_visible()  # both ways in, on one page
    await tab.assert_fits()
    await tab.screenshot("session-sign-in")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORDS["viewer"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await expect(page.get_by_test_id("signed-in-as")).to_have_text("Vic")
    await expect(page.get_by_test_id("stream-status")).to_have_text("Live")  # the WebSocket took the session too
    cookie = await _session_cookie(tab)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert await page.evaluate("sessionStorage.length") == 0  # no key kept in the tab: the cookie signs in

    await tab.open_view("Engineering")
    decide = page.get_by_role("group", name=f"Decide: {plan.title}")
    for name in ("Approve and apply", "Reject", "Request approval"):
        await expect(decide.get_by_role("button", name=name)).to_be_disabled(timeout=TIMEOUT_MS)
    await expect(decide.get_by_role("button", name="Approve and apply")).to_have_accessible_description(
        re.compile("Needs the approve:plans scope")
    )
    await tab.assert_fits()
    await tab.screenshot("session-viewer-engineering")
    tab.assert_no_errors()

    # The gateway itself refuses the decision sent with the viewer's session (the page offered none).
    status = await page.evaluate(
        """async (planId) => (await fetch(`/v1/plans/${planId}/approve`, {method: "POST",
             headers: {"X-Outlay-CSRF": "1", "Content-Type": "application/json"}, body: "{}"})).status""",
        plan.plan_id,
    )
    assert status == 403
    trail = (await seeded.get(f"/v1/plans/{plan.plan_id}/audit"))["entries"]
    assert not [e for e in trail if f"user {seeded.people.ids['viewer']}" in e["actor"]], trail
    await _sign_out(tab, seeded, cookie)


async def test_an_approver_sets_a_password_by_link_and_approves_a_plan(seeded: Seeded, tab: Tab) -> None:
    plan = await _asked_plan(seeded, tab.width)
    path = await _password_link(seeded, "approver")

    page = tab.page
    await page.goto(seeded.stack.base_url + path)
    await expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    await page.get_by_label("New password", exact=True).fill("too short")
    await page.get_by_label("Repeat the new password").fill("too short")
    await page.get_by_role("button", name="Set password and sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Use at least 12 characters.")
    await page.get_by_label("New password", exact=True).fill(PASSWORDS["approver"])
    await page.get_by_label("Repeat the new password").fill(PASSWORDS["approver"])
    await tab.screenshot("session-set-password")
    await page.get_by_role("button", name="Set password and sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await expect(page.get_by_test_id("signed-in-as")).to_have_text("Ann")
    assert "set-password" not in page.url  # the used token left the address bar
    cookie = await _session_cookie(tab)

    await tab.open_view("Engineering")
    decide = page.get_by_role("group", name=f"Decide: {plan.title}")
    approve = decide.get_by_role("button", name="Approve and apply")
    await expect(approve).to_be_enabled(timeout=TIMEOUT_MS)
    await expect(decide.get_by_role("button", name="Request approval")).to_be_disabled()  # approvers decide
    await tab.screenshot("session-approver-engineering")
    await approve.click()
    await expect(decide.locator("xpath=..").get_by_role("status")).to_contain_text("sent to the optimizer")
    trail = (await seeded.get(f"/v1/plans/{plan.plan_id}/audit"))["entries"]
    approvals = [e for e in trail if e["event"] == "approve_requested"]
    assert len(approvals) == 1, trail
    assert f"user {seeded.people.ids['approver']}" in approvals[0]["actor"] and "session-" in approvals[0]["actor"]
    await tab.assert_fits()
    tab.assert_no_errors()
    await _sign_out(tab, seeded, cookie)
    tab.assert_no_errors()
