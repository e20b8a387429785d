"""The engineering view in a real browser: a live update over the WebSocket (usage published to Kafka, written by the
ledger, announced by the gateway as a cost tick), and plan decisions by role: an approver approves a plan an engineer
asked for, an engineer asks for approval with one click, a viewer is refused. At 390 px and at a desktop width,
without console errors."""

from __future__ import annotations

import asyncio
import json
import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from playwright.async_api import expect

from outlay.events import CostKind, UsageRecord
from outlay.events.topics import PLAN_DECISIONS
from outlay.kafka.producer import EventProducer
from tests.web.conftest import (
    ASKED_PLANS,
    LIVE_SERVICES,
    TIMEOUT_MS,
    UNASKED_PLANS,
    Seeded,
    Tab,
    plan_id,
    plan_title,
    usd,
)

pytestmark = pytest.mark.e2e  # through the running stack: broker, store, services, gateway, browser
LIVE_TIMEOUT_MS = 30_000  # Kafka → ledger → PostgreSQL → progress topic → gateway → WebSocket → page


def _usage(service: str, minute: datetime, cost: Decimal) -> UsageRecord:
    return UsageRecord(
        record_id=f"live-{service}-{uuid.uuid4().hex[:8]}",
        source="web-test-metering",
        cost_kind=CostKind.ESTIMATED,
        charge_period_start=minute,
        charge_period_end=minute + timedelta(minutes=1),
        billing_account_id="111122223333",
        region="us-east-1",
        service=service,
        billed_cost=cost,
        effective_cost=cost,
        list_cost=cost,
        tags={"team": "checkout"},
    )


async def test_a_cost_tick_over_the_websocket_updates_the_live_view(seeded: Seeded, tab: Tab) -> None:
    service, cost = LIVE_SERVICES[tab.width], Decimal("4.75") if tab.width == "390px" else Decimal("7.25")
    page = tab.page
    ticks: list[dict[str, Any]] = []
    minute_requests: list[str] = []

    def on_socket(socket: Any) -> None:
        def on_frame(payload: str | bytes) -> None:
            message = json.loads(payload)
            if message.get("type") == "cost_tick":
                ticks.append(message)

        socket.on("framereceived", on_frame)

    def on_request(request: Any) -> None:
        if "granularity=minute" in request.url and "group_by=service" in request.url:
            minute_requests.append(request.url)

    page.on("websocket", on_socket)
    page.on("request", on_request)
    await tab.sign_in(seeded)
    await tab.open_view("Engineering")
    await expect(page.get_by_test_id("stream-status")).to_have_text("Live", timeout=LIVE_TIMEOUT_MS)
    await expect(page.get_by_text("Updating each minute over the live stream.")).to_be_visible()
    services = page.get_by_role("region", name="Live cost per service")
    await expect(services).to_be_visible()
    await expect(services.get_by_role("rowheader", name=service, exact=True)).to_have_count(0)
    # The view reads the last hour once more when the stream goes live: let that finish before counting requests.
    await page.wait_for_load_state("networkidle")
    requests_before = len(minute_requests)

    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    async with EventProducer(seeded.stack.bootstrap_servers, client_id="web-test-metering") as producer:
        await producer.send_many([_usage(service, minute, cost)])

    row = services.get_by_role("row").filter(has=page.get_by_role("rowheader", name=service, exact=True))
    await expect(row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    # The API's figure for that minute and service, and the tick the page received over its WebSocket.
    answer = await seeded.get("/v1/costs", start=minute.isoformat(), end=(minute + timedelta(minutes=1)).isoformat(),
                              granularity="minute", group_by="service")  # fmt: skip
    api_cost = sum((Decimal(r["cost"]) for r in answer["rows"] if r["group"]["service"] == service), Decimal(0))
    assert api_cost == cost, answer
    carried = [Decimal(t["by_service"][service]) for t in ticks if service in t["by_service"]]
    assert carried and carried[-1] == api_cost, f"no cost tick for {service} reached the page: {ticks}"
    cells = row.get_by_role("cell")  # per hour now, the last minute, the last 60 minutes
    await expect(cells.nth(0)).to_have_text(usd(api_cost * 60))
    await expect(cells.nth(1)).to_have_text(usd(api_cost))
    await expect(cells.nth(2)).to_have_text(usd(api_cost))
    # Over the stream, not a poll: the page asked for no minute costs by service since the usage was sent.
    assert minute_requests[requests_before:] == []
    await tab.assert_fits()
    await tab.screenshot("engineering-live")
    tab.assert_no_errors()


async def _decisions_of(seeded: Seeded, wanted: str, within: float = 20.0) -> list[dict[str, Any]]:
    """The decisions on plan `wanted` on the optimizer's topic (read from the start, no group), once one is there."""
    consumer = AIOKafkaConsumer(PLAN_DECISIONS.name, bootstrap_servers=seeded.stack.bootstrap_servers,
                                auto_offset_reset="earliest", enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        deadline = asyncio.get_running_loop().time() + within
        while not found and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                decisions = (json.loads(m.value or b"{}") for m in batch)
                found.extend(d for d in decisions if d.get("plan_id") == wanted)
    finally:
        await consumer.stop()
    return found


async def test_an_approver_approves_a_plan_an_engineer_asked_for(seeded: Seeded, tab: Tab) -> None:
    resource = ASKED_PLANS[tab.width]
    plan = await seeded.get(f"/v1/plans/{plan_id(resource)}")
    assert plan["status"] == "proposed" and f"user:{seeded.people.ids['engineer']}" in plan["requested_by"]

    await tab.sign_in(seeded, seeded.people.approver)
    await tab.open_view("Engineering")
    page = tab.page
    decide = page.get_by_role("group", name=f"Decide: {plan_title(resource)}")
    approve = decide.get_by_role("button", name="Approve and apply")
    await expect(approve).to_be_enabled(timeout=TIMEOUT_MS)
    await expect(decide.get_by_role("button", name="Request approval")).to_be_disabled()  # approvers decide
    await tab.screenshot("engineering-approver")
    await approve.click()
    outcome = decide.locator("xpath=..").get_by_role("status")
    await expect(outcome).to_contain_text("sent to the optimizer")

    trail = (await seeded.get(f"/v1/plans/{plan_id(resource)}/audit"))["entries"]
    approvals = [e for e in trail if e["event"] == "approve_requested"]
    assert len(approvals) == 1 and f"user {seeded.people.ids['approver']}" in approvals[0]["actor"], trail
    decisions = await _decisions_of(seeded, plan_id(resource))
    assert [d["decision"] for d in decisions] == ["approve"], decisions
    assert f"user {seeded.people.ids['approver']}" in decisions[0]["actor"]
    await tab.assert_fits()
    await tab.screenshot("engineering-approved")
    tab.assert_no_errors()


async def test_an_engineer_asks_for_approval_with_one_click(seeded: Seeded, tab: Tab) -> None:
    resource = UNASKED_PLANS[tab.width]
    assert (await seeded.get(f"/v1/plans/{plan_id(resource)}"))["requested_by"] in (None, "")

    await tab.sign_in(seeded, seeded.people.engineer)
    await tab.open_view("Engineering")
    decide = tab.page.get_by_role("group", name=f"Decide: {plan_title(resource)}")
    await expect(decide.get_by_role("button", name="Approve and apply")).to_be_disabled()  # engineers ask
    await decide.get_by_role("button", name="Request approval").click()
    await expect(decide.locator("xpath=..").get_by_role("status")).to_contain_text("Approval asked for")
    plan = await seeded.get(f"/v1/plans/{plan_id(resource)}")
    assert f"user:{seeded.people.ids['engineer']}" in plan["requested_by"], plan
    await expect(decide.get_by_role("button", name="Request approval")).to_be_disabled()  # asked once
    tab.assert_no_errors()


async def test_a_viewer_is_refused_the_plan_decisions(seeded: Seeded, tab: Tab) -> None:
    resource = ASKED_PLANS[tab.width]
    await tab.sign_in(seeded, seeded.people.viewer)
    await tab.open_view("Engineering")
    decide = tab.page.get_by_role("group", name=f"Decide: {plan_title(resource)}")
    for name in ("Approve and apply", "Reject", "Request approval"):
        button = decide.get_by_role("button", name=name)
        await expect(button).to_be_disabled(timeout=TIMEOUT_MS)
    # Each control says why it is off: the scope the viewer's role lacks.
    approve = decide.get_by_role("button", name="Approve and apply")
    await expect(approve).to_have_accessible_description(re.compile("Needs the approve:plans scope"))
    await expect(decide.get_by_role("button", name="Request approval")).to_have_accessible_description(
        re.compile("Needs the request:plans scope")
    )
    await tab.screenshot("engineering-viewer")
    # The gateway refuses the same decision from this key, and nothing was recorded for it.
    refused = await seeded.http.post(
        f"/v1/plans/{plan_id(resource)}/approve", headers=seeded.stack.bearer(seeded.people.viewer)
    )
    assert refused.status_code == 403, refused.text
    trail = (await seeded.get(f"/v1/plans/{plan_id(resource)}/audit"))["entries"]
    assert not [e for e in trail if f"user {seeded.people.ids['viewer']}" in e["actor"]], trail
    tab.assert_no_errors()


@pytest.mark.parametrize("tab", ["desktop"], indirect=True)  # the view at 390 px: the live-update test
async def test_efficiency_and_savings_match_the_api(seeded: Seeded, tab: Tab) -> None:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    answer = await seeded.get("/v1/costs", start=(tomorrow - timedelta(days=30)).isoformat(), end=tomorrow.isoformat(),
                              granularity="day", group_by=["currency", "cost_kind"])  # fmt: skip
    days: dict[str, dict[str, Decimal]] = {}
    for row in answer["rows"]:
        if row["group"]["currency"] == "USD":
            kinds = days.setdefault(row["period_start"][:10], {})
            kinds[row["group"]["cost_kind"]] = kinds.get(row["group"]["cost_kind"], Decimal(0)) + Decimal(row["cost"])
    spend = sum((k.get("billed", k.get("estimated", Decimal(0))) for k in days.values()), Decimal(0))
    savings = await seeded.get("/v1/savings")
    recommended = Decimal(savings["recommended_monthly"])
    assert recommended > 0 and spend > 0
    score = math.floor(max(0, min(100, 100 * (1 - float(recommended) / float(spend)))) + 0.5)  # JS Math.round

    await tab.sign_in(seeded)
    await tab.open_view("Engineering")
    card = tab.page.get_by_role("region", name="Resource efficiency")
    await expect(card.get_by_text(f"{score} / 100", exact=True)).to_be_visible()
    await expect(card).to_contain_text(f"recommended monthly saving ({usd(recommended)})")
    await expect(card).to_contain_text(f"last 30 days' cost ({usd(spend)})")
    await expect(card).to_contain_text(
        f"available: {usd(savings['available_monthly'])} in {savings['available_plans']} open plan(s)"
    )
    await tab.screenshot("engineering-efficiency")
    tab.assert_no_errors()


@pytest.mark.parametrize("tab", ["desktop"], indirect=True)  # the view at 390 px: the live-update test
async def test_a_pull_requests_reported_cost_shows_in_engineering(seeded: Seeded, tab: Tab) -> None:
    report = {"repository": "acme/shop", "pull_request": 42, "commit_sha": "0123456789abcdef", "title": "Bigger cache",
              "monthly_cost_before": "410.00", "monthly_cost_after": "533.45", "monthly_delta": "123.45",
              "resources_changed": 3, "verdict": "failed"}  # fmt: skip
    made = await seeded.http.post("/v1/iac/estimates", json=report)  # what CI's `outlay report-estimate` sends
    assert made.status_code == 201, made.text
    listed = [e for e in (await seeded.get("/v1/iac/estimates"))["estimates"] if e["repository"] == "acme/shop"]
    assert len(listed) == 1 and Decimal(listed[0]["monthly_delta"]) == Decimal("123.45"), listed

    await tab.sign_in(seeded)
    await tab.open_view("Engineering")
    table = tab.page.get_by_role("region", name="Monthly cost change per pull request")
    row = table.get_by_role("row").filter(has=tab.page.get_by_role("rowheader", name="acme/shop", exact=True))
    await expect(row.get_by_role("cell").nth(0)).to_contain_text("#42 Bigger cache")
    await expect(row.get_by_role("cell").nth(1)).to_have_text("+" + usd(listed[0]["monthly_delta"]))
    await expect(row.get_by_role("cell").nth(2)).to_have_text("gate failed")
    await tab.screenshot("engineering-pull-requests")
    tab.assert_no_errors()


async def test_a_reported_deploy_shows_with_the_step_it_made(seeded: Seeded, tab: Tab) -> None:
    at = datetime.combine(seeded.stack.today - timedelta(days=3), datetime.min.time(), UTC) + timedelta(
        hours=12, minutes=30
    )
    deploy = {"scope": "tag:team=checkout", "version": "v2.3.0", "deployed_at": at.isoformat(),
              "url": "https://ci.example.com/runs/1"}  # fmt: skip
    made = await seeded.http.post("/v1/deployments", json=deploy)  # what a CD pipeline sends
    assert made.status_code == 201, made.text
    (listed,) = [d for d in (await seeded.get("/v1/deployments"))["deployments"] if d["version"] == "v2.3.0"]
    step = listed["cost_step"]
    assert step is not None and step["settled"], listed

    await tab.sign_in(seeded)
    await tab.open_view("Engineering")
    table = tab.page.get_by_role("region", name="Deployments and the step each made in cost")
    row = table.get_by_role("row").filter(has=tab.page.get_by_role("link", name="v2.3.0", exact=True))
    await expect(row.get_by_role("rowheader")).to_have_text("tag:team=checkout")
    cells = row.get_by_role("cell")
    await expect(cells.nth(2)).to_have_text(usd(step["hourly_before"]))
    await expect(cells.nth(3)).to_have_text(usd(step["hourly_after"]))
    change = Decimal(step["monthly_change"])
    sign = "+" if change > 0 else "−" if change < 0 else ""
    await expect(cells.nth(4)).to_have_text(sign + usd(str(abs(change))))
    await expect(cells.nth(5)).to_have_text("24 h each side, billed")
    await tab.screenshot("engineering-deployments")
    tab.assert_no_errors()
