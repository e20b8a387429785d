"""Webhook signatures (the documented recipe), retry delays with jitter, and the guard against internal addresses."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from services.gateway.webhooks.delivery import RetryPolicy
from services.gateway.webhooks.signing import sign, verify
from services.gateway.webhooks.ssrf import UnsafeUrl, check_url


def test_the_signature_follows_the_recipe_and_refuses_tampering_and_replays() -> None:
    body, secret, at = b'{"type":"anomaly"}', "s3cret", 1_790_000_000
    recipe = "v1=" + hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign(secret, at, body) == recipe
    assert verify(secret, str(at), body, recipe, now=at + 10)
    assert not verify(secret, str(at), body + b" ", recipe, now=at + 10)  # body changed
    assert not verify("other", str(at), body, recipe, now=at + 10)
    assert not verify(secret, str(at), body, recipe, now=at + 301)  # too old: a replay
    assert not verify(secret, "soon", body, recipe, now=at)


def test_retries_back_off_exponentially_with_jitter_up_to_a_cap() -> None:
    policy = RetryPolicy(max_attempts=8, base_s=5, cap_s=60)
    assert [policy.delay(n, rand=lambda: 0.5) for n in range(1, 6)] == [5, 10, 20, 40, 60]
    assert policy.delay(1, rand=lambda: 0.0) == 2.5 and policy.delay(1, rand=lambda: 0.999) == pytest.approx(7.495)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "https://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.0.1/hook",  # carrier-grade NAT
        "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 to the metadata address
        "http://[64:ff9b::a00:1]/hook",  # NAT64 to 10.0.0.1
        "http://[2002:a9fe:a9fe::1]/hook",  # 6to4 from 169.254.169.254
        "http://[2002:c0a8:0101::1]/hook",  # 6to4 from 192.168.1.1
        "http://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/hook",  # Teredo (not globally reachable), public client
        "http://[64:ff9b:1::5db8:d70e]/hook",  # local-use NAT64: where its IPv4 sits is the network's choice
        "http://0.0.0.0/hook",
        "ftp://example.com/hook",
        "https://user:pass@example.com/hook",
        "https:///nohost",
    ],
)
async def test_internal_and_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl, match="^url: "):
        await check_url(url)


async def test_public_addresses_pass_and_the_operator_may_allow_internal_ones() -> None:
    await check_url("https://93.184.215.14/hook")  # a public address (no name to resolve)
    await check_url("https://[64:ff9b::5db8:d70e]/hook")  # NAT64 to that same public address
    await check_url("http://127.0.0.1:9/hook", allow_private=True)


def test_chat_messages_carry_the_title_facts_and_context_in_each_format() -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from outlay.events import AnomalyDirection, CostAnomaly, Severity
    from outlay.store.webhooks import Webhook
    from services.gateway.webhooks.chat import slack, teams
    from services.gateway.webhooks.events import EVENT_TYPES, accepts, renderer

    anomaly = CostAnomaly(
        anomaly_id="a1", series="hour|tag:team=checkout", dimensions={"tag:team": "checkout"},
        direction=AnomalyDirection.SPIKE, start=datetime(2026, 11, 30, 9, tzinfo=UTC), end=None,
        last_seen=datetime(2026, 11, 30, 10, tzinfo=UTC), expected_cost=Decimal("10"), actual_cost=Decimal("42"),
        impact=Decimal("32"), score=0.99, severity=Severity.HIGH, root_cause=["service=AmazonEC2"], alerted=True,
    )  # fmt: skip
    message = slack("anomaly", anomaly)
    assert message["text"] == "High cost spike: hour|tag:team=checkout"
    assert message["blocks"][0]["type"] == "header"
    assert {"type": "mrkdwn", "text": "*Impact so far*\n32 USD"} in message["blocks"][1]["fields"]
    card = teams("anomaly", anomaly)["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["version"] == "1.4" and card["content"]["body"][1]["facts"][0] == {
        "title": "Expected", "value": "10 USD"
    }  # fmt: skip
    # Event text never becomes markdown: the title and context are TextRuns, fact values are escaped.
    assert card["content"]["body"][0]["inlines"][0]["type"] == "TextRun"
    from services.gateway.webhooks.chat import teams_text

    assert teams_text("[x](https://e.vil) *a* 10.5 USD") == r"\[x\]\(https://e.vil\) \*a\* 10.5 USD"

    kind = EVENT_TYPES["anomaly"]
    at = datetime(2026, 11, 30, tzinfo=UTC)

    def hook(fmt: str, **filters: object) -> Webhook:
        return Webhook("w", "https://x", "s", ["anomaly"], dict(filters), "", at, fmt)

    assert renderer(kind)(hook("slack"), anomaly) == __import__("json").dumps(message)
    assert '"type": "anomaly"' in renderer(kind)(hook("outlay"), anomaly)
    assert accepts(kind)(hook("slack", team=["checkout"]), anomaly)  # routed by team
    assert not accepts(kind)(hook("slack", team=["payments"]), anomaly)
    assert not accepts(kind)(hook("slack", min_severity="critical"), anomaly)


def test_anomalies_and_budget_alerts_are_routed_by_team() -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from outlay.events.budget_alert import BudgetAlert, ThresholdBasis, ThresholdState
    from outlay.store.webhooks import Webhook
    from services.gateway.webhooks.events import EVENT_TYPES, accepts, check_filters

    check_filters(["anomaly", "budget_alert"], {"team": ["checkout"], "min_severity": "high"})  # accepted
    with pytest.raises(ValueError, match="filters.team: must be a non-empty list"):
        check_filters(["budget_alert"], {"team": []})
    with pytest.raises(ValueError, match="filters.team: not a filter of plan"):
        check_filters(["plan"], {"team": ["checkout"]})

    def alert(scope: str) -> BudgetAlert:
        return BudgetAlert(
            alert_id="a", budget_id="b", budget_name="checkout", scope=scope, currency="USD", amount=Decimal(100),
            period_start=date(2026, 11, 1), period_end=date(2026, 12, 1), basis=ThresholdBasis.ACTUAL,
            percent=Decimal(80), threshold_amount=Decimal(80), state=ThresholdState.BREACHED, crossing_day=None,
            actual_to_date=Decimal(85), forecast_total=None, summary="over", raised_at=datetime(2026, 11, 20, tzinfo=UTC),
        )  # fmt: skip

    at = datetime(2026, 11, 30, tzinfo=UTC)
    hook = Webhook("w", "https://x", "s", ["budget_alert"], {"team": ["checkout"]}, "", at, "slack")
    routed = accepts(EVENT_TYPES["budget_alert"])
    assert routed(hook, alert("tag:team=checkout"))
    assert not routed(hook, alert("tag:team=payments")) and not routed(hook, alert("total"))


def test_slack_messages_show_event_text_literally() -> None:
    from services.gateway.webhooks.chat import slack_text

    assert slack_text("<!channel> & <https://evil.example|click>") == (
        "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"
    )


async def test_a_delivery_goes_to_the_address_that_was_checked() -> None:
    from services.gateway.webhooks.ssrf import pinned

    address = await check_url("https://93.184.215.14:8443/hook?x=1")
    assert address == "93.184.215.14"
    assert pinned("https://hooks.example.com:8443/hook?x=1", "93.184.215.14") == (
        "https://93.184.215.14:8443/hook?x=1", {"Host": "hooks.example.com:8443"}, {"sni_hostname": "hooks.example.com"},
    )  # fmt: skip
    assert pinned("https://hooks.example.com/h", "2606:2800:220:1::1")[0] == "https://[2606:2800:220:1::1]/h"
    assert pinned("http://127.0.0.1:9/h", None) == ("http://127.0.0.1:9/h", {}, {})  # allowed internal: as it is
    assert pinned("https://bücher.example/h", "93.184.215.14")[1:] == (
        {"Host": "xn--bcher-kva.example"}, {"sni_hostname": "xn--bcher-kva.example"},
    )  # fmt: skip
    assert await check_url("http://127.0.0.1:9/h", allow_private=True) is None
