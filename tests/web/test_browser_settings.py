"""The settings view in a real browser: budgets as the API has them and a new one made with the form; a webhook
made with the form and its test delivery received by a real HTTP server; an API key shown once that then works
against the API; a member added with a role. At 390 px and at a desktop width, without console errors."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from playwright.async_api import expect

from tests.web.conftest import TIMEOUT_MS, Seeded, Tab, usd

pytestmark = pytest.mark.e2e  # through the running stack: broker, store, services, gateway, browser

SECRET = re.compile(r"\S{16,}")  # a secret shown once: long, no spaces
DELIVERY_TIMEOUT_MS = 30_000  # the deliverer's queue, then the view's 5-s refresh of its deliveries


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that answers 204 and keeps each request's JSON body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = await reader.readexactly(length)
        self.bodies.append(json.loads(body or b"{}"))
        self.arrived.set()
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/outlay"
    try:
        yield found
    finally:
        server.close()
        await server.wait_closed()


async def test_budgets_are_listed_and_made_with_the_form(seeded: Seeded, tab: Tab) -> None:
    name, amount = f"Search team ({tab.width})", Decimal("640.50")
    await tab.sign_in(seeded)
    await tab.open_view("Settings")
    page = tab.page
    table = page.get_by_role("region", name="Budgets", exact=True)
    for budget in (await seeded.get("/v1/budgets"))["budgets"]:
        row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=budget["name"], exact=True))
        await expect(row.get_by_role("cell").nth(0)).to_have_text(budget["scope"])
        await expect(row.get_by_role("cell").nth(1)).to_have_text(usd(budget["amount"]))
    await tab.screenshot("settings-budgets")

    await page.get_by_role("button", name="New budget").click()
    form = page.get_by_role("form", name="New budget")
    await form.get_by_label("Name").fill(name)
    await form.get_by_label("Scope").fill("tag:team=search")
    await form.get_by_label("Amount").fill(str(amount))
    await form.get_by_role("button", name="Create budget").click()
    await expect(form).to_have_count(0)
    made = [b for b in (await seeded.get("/v1/budgets"))["budgets"] if b["name"] == name]
    assert len(made) == 1 and made[0]["scope"] == "tag:team=search" and Decimal(made[0]["amount"]) == amount, made
    await expect(page.get_by_role("rowheader", name=name, exact=True)).to_be_visible()
    tab.assert_no_errors()


# Once: the settings view at 390 px is in the budgets, members and viewer tests.
@pytest.mark.parametrize("tab", ["desktop"], indirect=True)
async def test_a_policy_is_made_and_disabled_in_the_form(seeded: Seeded, tab: Tab) -> None:
    name = "Every resource says its team and project"
    await tab.sign_in(seeded)
    await tab.open_view("Settings")
    page = tab.page
    await page.get_by_role("group", name="Settings sections").get_by_role("button", name="Policies").click()
    await page.get_by_role("button", name="New policy").click()
    form = page.get_by_role("form", name="New policy")
    await form.get_by_label("Name").fill(name)
    await form.get_by_label("Kind").select_option(label="Required tags")
    await form.get_by_label("Tag keys").fill("team, project")
    await form.get_by_role("button", name="Create policy").click()
    await expect(form).to_have_count(0)
    made = [p for p in (await seeded.get("/v1/policies"))["policies"] if p["name"] == name]
    assert len(made) == 1 and made[0]["rule"]["keys"] == ["team", "project"] and made[0]["enabled"], made
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name, exact=True))
    await expect(row).to_contain_text("enabled (v1)")
    await row.get_by_role("button", name=f"Disable {name}").click()
    await expect(row).to_contain_text("disabled (v2)")
    after = await seeded.get(f"/v1/policies/{made[0]['policy_id']}")
    assert after["enabled"] is False and after["version"] == 2, after
    await tab.screenshot("settings-policies")
    tab.assert_no_errors()


# Once: the delivery takes seconds, and the form is the same at 390 px.
@pytest.mark.parametrize("tab", ["desktop"], indirect=True)
async def test_a_webhook_made_in_the_form_gets_its_test_delivery(seeded: Seeded, tab: Tab, receiver: Receiver) -> None:
    await tab.sign_in(seeded)
    await tab.open_view("Settings")
    page = tab.page
    await page.get_by_role("group", name="Settings sections").get_by_role("button", name="Webhooks").click()
    await page.get_by_role("button", name="New webhook").click()
    form = page.get_by_role("form", name="New webhook")
    await form.get_by_label("URL").fill(receiver.url)
    await form.get_by_label("Description").fill(f"browser test {tab.width}")
    await form.get_by_role("button", name="Create webhook").click()
    secret = page.get_by_role("region", name=f"Signing secret of {receiver.url}")
    await expect(secret.get_by_role("textbox")).to_have_value(SECRET)
    hooks = [h for h in (await seeded.get("/v1/webhooks"))["webhooks"] if h["url"] == receiver.url]
    assert len(hooks) == 1, hooks
    await secret.get_by_role("button", name="Done").click()
    await expect(secret).to_have_count(0)

    item = page.get_by_role("listitem").filter(has_text=receiver.url)
    await item.get_by_role("button", name="Send test delivery").click()
    await expect(item.get_by_role("status").filter(has_text="Test delivery queued")).to_be_visible()
    await asyncio.wait_for(receiver.arrived.wait(), DELIVERY_TIMEOUT_MS / 1000)
    assert receiver.bodies[0]["type"] == "ping" and receiver.bodies[0]["data"]["webhook_id"] == hooks[0]["webhook_id"]
    deliveries = item.get_by_role("region", name=f"Latest deliveries to {receiver.url}")
    await expect(deliveries.get_by_role("row").filter(has_text="ping")).to_contain_text(
        "delivered", timeout=DELIVERY_TIMEOUT_MS
    )
    await tab.assert_fits()
    await tab.screenshot("settings-webhooks")
    tab.assert_no_errors()


async def test_an_api_key_is_shown_once_and_works(seeded: Seeded, tab: Tab) -> None:
    name = f"reporting ({tab.width})"
    await tab.sign_in(seeded)
    await tab.open_view("Settings")
    page = tab.page
    await page.get_by_role("group", name="Settings sections").get_by_role("button", name="API keys").click()
    await page.get_by_role("button", name="New API key").click()
    form = page.get_by_role("form", name="New API key")
    await form.get_by_label("Name").fill(name)
    await form.get_by_label("Role").select_option("viewer")
    await form.get_by_role("button", name="Create key").click()
    shown = page.get_by_role("region", name=f"API key {name}")
    secret = await shown.get_by_role("textbox").input_value()
    me = await seeded.get("/v1/me", key=secret)
    assert me["name"] == name and "read:costs" in me["scopes"] and "admin" not in me["scopes"], me
    await tab.screenshot("settings-keys")
    await shown.get_by_role("button", name="Done").click()
    await expect(shown).to_have_count(0)
    assert secret not in await page.content(), "the key is still on the page after Done"
    # The list of keys has the new one (by name; never its secret).
    keys = page.get_by_role("table", name="API keys")
    await expect(keys.get_by_role("rowheader", name=name, exact=False)).to_be_visible()
    tab.assert_no_errors()


async def test_a_member_is_added_with_a_role(seeded: Seeded, tab: Tab) -> None:
    email = f"fin-{tab.width}@outlay.test"
    await tab.sign_in(seeded)
    await tab.open_view("Settings")
    page = tab.page
    await page.get_by_role("group", name="Settings sections").get_by_role("button", name="Members and roles").click()
    form = page.get_by_role("form", name="Add a member")
    await form.get_by_label("Email").fill(email)
    await form.get_by_label("Role").select_option("finance")
    await form.get_by_role("button", name="Add member").click()
    await expect(form.get_by_role("status")).to_contain_text("Member added", timeout=TIMEOUT_MS)
    users = {u["email"]: u for u in (await seeded.get("/v1/users"))["users"]}
    assert users[email]["role"] == "finance", users.get(email)
    await expect(page.get_by_label(f"Role of {email}")).to_have_value("finance")
    await tab.assert_fits()
    await tab.screenshot("settings-members")
    tab.assert_no_errors()
