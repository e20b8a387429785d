"""The short lists page with a cursor through the API, like the long ones."""

from __future__ import annotations

from outlay.settings import Settings
from services.gateway.app import create_app
from tests.integration.gateway_fixtures import api_client


async def test_budgets_and_people_page_with_a_cursor(store_url: str) -> None:
    async with api_client(create_app(Settings(DATABASE_URL=store_url))) as http:
        for i in range(5):
            made = await http.post("/v1/budgets", json={"name": f"b{i}", "scope": "total", "amount": str(100 + i)})
            assert made.status_code == 201, made.text
            person = await http.post("/v1/users", json={"email": f"p{i}@acme.test", "role": "viewer"})
            assert person.status_code == 201, person.text
        for path, field in (("/v1/budgets", "budgets"), ("/v1/users", "users")):
            pages, cursor = [], None
            while True:
                reply = await http.get(path, params={"limit": "2", **({"cursor": cursor} if cursor else {})})
                assert reply.status_code == 200, reply.text
                pages.append(reply.json()[field])
                cursor = reply.json()["next_cursor"]
                if cursor is None:
                    break
            assert [len(p) for p in pages] == [2, 2, 1]
            everything = (await http.get(path)).json()[field]
            assert sum(pages, []) == everything and len(everything) == 5
        bad = await http.get("/v1/budgets", params={"limit": "501"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "limit"
