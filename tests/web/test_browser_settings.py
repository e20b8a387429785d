"""The settings view in a real browser: budgets as the API has them, a new one made with the form, one edited and
deleted; a policy made, disabled, edited and deleted; a webhook made with the form, its test delivery received by a
real HTTP server, then deleted; an API key shown once that then works against the API, is not shown again after a
reload, and is revoked; a member added with a role, given another and disabled. Each change checked through the
API. At 390 px and at a desktop width, without console errors."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
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
async def test_a_policy_is_made_disabled_edited_and_deleted_in_the_view(seeded: Seeded, tab: Tab) -> None:
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

    # Edited in its form (filled with its rule): the same policy, its next version, still disabled.
    await row.get_by_role("button", name=f"Edit {name}").click()
    form = page.get_by_role("form", name=f"Edit policy {name}")
    await expect(form.get_by_label("Tag keys")).to_have_value("team, project")
    await form.get_by_label("Tag keys").fill("team, project, owner")
    await form.get_by_role("button", name="Save policy").click()
    await expect(form).to_have_count(0)
    await expect(row).to_contain_text("keys: team, project, owner")
    await expect(row).to_contain_text("disabled (v3)")
    edited = await seeded.get(f"/v1/policies/{made[0]['policy_id']}")
    assert edited["rule"]["keys"] == ["team", "project", "owner"] and edited["version"] == 3, edited
    assert edited["enabled"] is False, edited

    # Deleted, once confirmed: gone from the API and the table.
    await delete_confirmed(page, row.get_by_role("button", name=f"Delete {name}"), f"Delete the policy {name}?")
    await expect(row).to_have_count(0)
    gone = await seeded.http.get(f"/v1/policies/{made[0]['policy_id']}")
    assert gone.status_code == 404, gone.text
    tab.assert_no_errors()


async def delete_confirmed(page: Any, button: Any, question: str, accept: bool = True) -> None:
    """Click a delete `button` and answer its confirmation, which must ask `question`."""
    asked: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def answer(dialog: Any) -> None:
        asked.set_result(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    page.once("dialog", answer)
    await button.click()
    assert await asyncio.wait_for(asked, TIMEOUT_MS / 1000) == question


# Once, at 390 px: the editor is the same form at the desktop width (made there by the budgets test above).
@pytest.mark.parametrize("tab", ["390px"], indirect=True)
async def test_a_budget_is_edited_and_deleted_in_the_view(seeded: Seeded, tab: Tab) -> None:
    name = "Data platform (edit me)"
    made = await seeded.http.post("/v1/budgets", json={"name": name, "scope": "tag:team=data", "amount": "300"})
    assert made.status_code == 201, made.text
    budget_id = made.json()["budget_id"]
    await tab.sign_in(seeded)
    await tab.open_view("Settings")
    page = tab.page
    table = page.get_by_role("region", name="Budgets", exact=True)
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name, exact=True))
    await expect(row.get_by_role("cell").nth(1)).to_have_text(usd("300"))

    await row.get_by_role("button", name=f"Edit {name}").click()
    form = page.get_by_role("form", name=f"Edit budget {name}")
    await expect(form.get_by_label("Amount")).to_have_value("300")
    await form.get_by_label("Amount").fill("412.25")
    await form.get_by_label("Scope").fill("tag:team=data-platform")
    await form.get_by_role("button", name="Save budget").click()
    await expect(form).to_have_count(0)
    await expect(row.get_by_role("cell").nth(1)).to_have_text(usd("412.25"))
    edited = await seeded.get(f"/v1/budgets/{budget_id}")  # the same budget, changed in place
    assert Decimal(edited["amount"]) == Decimal("412.25") and edited["scope"] == "tag:team=data-platform", edited
    await tab.assert_fits()
    await tab.screenshot("settings-budget-edited")

    # Deleting asks first: dismissed, the budget stays; confirmed, it goes.
    delete = row.get_by_role("button", name=f"Delete {name}")
    await delete_confirmed(page, delete, f"Delete the budget {name}?", accept=False)
    await expect(row).to_have_count(1)
    assert (await seeded.http.get(f"/v1/budgets/{budget_id}")).status_code == 200
    await delete_confirmed(page, delete, f"Delete the budget {name}?")
    await expect(page.get_by_role("status").filter(has_text="Budget deleted.")).to_be_visible()
    await expect(row).to_have_count(0)
    gone = await seeded.http.get(f"/v1/budgets/{budget_id}")
    assert gone.status_code == 404, gone.text
    assert budget_id not in {b["budget_id"] for b in (await seeded.get("/v1/budgets"))["budgets"]}
    tab.assert_no_errors()


# Once: the delivery takes seconds, and the form is the same at 390 px.
@pytest.mark.parametrize("tab", ["desktop"], indirect=True)
async def test_a_webhook_made_in_the_form_gets_its_test_delivery_then_is_deleted(
    seeded: Seeded, tab: Tab, receiver: Receiver
) -> None:
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

    await delete_confirmed(
        page, item.get_by_role("button", name="Delete webhook"), f"Delete the webhook to {receiver.url}?"
    )
    await expect(page.get_by_role("status").filter(has_text="Webhook deleted.")).to_be_visible()
    await expect(item).to_have_count(0)
    left = [h for h in (await seeded.get("/v1/webhooks"))["webhooks"] if h["url"] == receiver.url]
    assert not left, left
    tab.assert_no_errors()


async def test_an_api_key_is_shown_once_works_and_is_revoked(seeded: Seeded, tab: Tab) -> None:
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

    # Shown once: after a reload the key is listed by name, never its secret.
    await page.reload()
    await expect(page.get_by_role("heading", level=2, name="Settings")).to_be_visible()
    await page.get_by_role("group", name="Settings sections").get_by_role("button", name="API keys").click()
    row = keys.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name, exact=False))
    await expect(row).to_contain_text("active")
    await expect(page.get_by_role("region", name=f"API key {name}")).to_have_count(0)
    assert secret not in await page.content(), "the key's secret is on the page again after a reload"
    listed = [k for k in (await seeded.get("/v1/keys"))["keys"] if k["name"] == name]
    assert len(listed) == 1 and secret not in str(listed), listed

    # Revoked from its row (once confirmed): it stops working at once.
    await delete_confirmed(
        page, row.get_by_role("button", name=f"Revoke {name}"), f"Revoke the key {name}? It stops working at once."
    )
    await expect(row).to_contain_text("revoked")
    refused = await seeded.http.get("/v1/me", headers=seeded.stack.bearer(secret))
    assert refused.status_code == 401, refused.text
    tab.assert_no_errors()


async def test_a_member_is_added_given_another_role_and_disabled(seeded: Seeded, tab: Tab) -> None:
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

    # A role changed in the members table, then the member disabled: each recorded by the API.
    role = page.get_by_label(f"Role of {email}")
    await role.select_option("engineer")
    # The select shows the API's role again once the change is saved and the members read again.
    await expect(role).to_be_enabled()
    await expect(role).to_have_value("engineer")
    assert await member_role(seeded, email) == ("engineer", False)
    row = page.get_by_role("row").filter(has=page.get_by_label(f"Role of {email}"))

    # A set-password link for the member, shown once; the member sets a password with it and the table says so.
    await expect(row).to_contain_text("none (API keys only)")
    await row.get_by_role("button", name=f"Set-password link for {email}").click()
    shown = page.get_by_role("region", name=f"Set-password link for {email}")
    link = await shown.get_by_role("textbox").input_value()
    assert re.fullmatch(re.escape(seeded.stack.base_url) + r"/#set-password=[A-Za-z0-9_-]{10,200}", link), link
    token = link.split("#set-password=", 1)[1]
    async with httpx.AsyncClient(base_url=seeded.stack.base_url, timeout=30) as anonymous:  # the member, no key
        set_password = await anonymous.post(
            "/v1/session/password",
            json={"token": token, "password": "correct horse battery staple"},
            headers={"X-Outlay-CSRF": "1"},
        )
    assert set_password.status_code < 300, set_password.text
    await shown.get_by_role("button", name="Done").click()
    await expect(shown).to_have_count(0)
    await page.reload()
    await page.get_by_role("group", name="Settings sections").get_by_role("button", name="Members and roles").click()
    await expect(row).to_contain_text("set", timeout=TIMEOUT_MS)
    await expect(row).not_to_contain_text("none (API keys only)")
    await row.get_by_role("button", name=f"Disable {email}").click()
    await expect(row.get_by_role("button", name=f"Enable {email}")).to_be_visible()
    await expect(row).to_contain_text("disabled")
    assert await member_role(seeded, email) == ("engineer", True)
    tab.assert_no_errors()


async def member_role(seeded: Seeded, email: str) -> tuple[str, bool]:
    """(role, disabled) of the member with `email`, as the API has them."""
    user = {u["email"]: u for u in (await seeded.get("/v1/users"))["users"]}[email]
    return user["role"], user["disabled_at"] is not None
