"""Queue events for webhooks (one consumer group per event type: each update queued once however many gateways
run) and deliver what is due: signed POSTs, retried with exponential back-off and jitter, dead after the last try.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import httpx

from outlay.kafka.consumer import BatchConsumer
from outlay.kafka.keep_running import consume_forever, keep_running
from outlay.store.webhooks import Delivery, Webhook, WebhookStore
from outlay.telemetry import metrics, tracing
from services.gateway.webhooks.events import EventType, accepts, dedupe_key, renderer
from services.gateway.webhooks.signing import sign
from services.gateway.webhooks.ssrf import Unresolvable, UnsafeUrl, check_url, pinned

log = logging.getLogger(__name__)
USER_AGENT = "Outlay-Webhooks/1"


class WebhookQueue:
    """Follows one event type's topic in a consumer group and queues each update for the webhooks that want it."""

    def __init__(
        self, bootstrap: str, kind: EventType, store: WebhookStore, group_id: str, session_timeout_ms: int = 6000
    ) -> None:
        self.kind = kind
        self._bootstrap = bootstrap
        self._store = store
        self._group = f"{group_id}-{kind.name}"
        self._session_timeout_ms = session_timeout_ms

    async def run(self) -> None:
        await consume_forever(f"webhook queue ({self.kind.name})", self._consumer, self._queue)

    def _consumer(self) -> BatchConsumer[Any]:
        return BatchConsumer(
            self._bootstrap, self.kind.topic.event, self._group, topic=self.kind.topic,
            client_id=f"outlay-gateway-webhooks-{self.kind.name}", max_records=500,
            session_timeout_ms=self._session_timeout_ms, decode_in_thread=False,
        )  # fmt: skip

    async def _queue(self, events: list[Any]) -> None:
        items = [(dedupe_key(self.kind, e), e) for e in events if self.kind.wanted(e)]
        if items:
            await self._store.enqueue(self.kind.name, items, accepts(self.kind), renderer(self.kind), datetime.now(UTC))


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 5.0  # 5 s, 10 s, 20 s, ... (each x a jitter of 0.5-1.5), capped
    cap_s: float = 3600.0

    def delay(self, attempts: int, rand: Callable[[], float] = random.random) -> float:
        return min(self.cap_s, self.base_s * 2 ** (attempts - 1)) * (0.5 + rand())


def _proxied(url: str) -> bool:
    """Whether the environment sends `url` through a proxy (HTTP(S)_PROXY without a NO_PROXY match), as httpx does."""
    parts = urlsplit(url)
    return bool(getproxies().get(parts.scheme)) and not proxy_bypass(parts.hostname or "")


class Deliverer:
    """Delivers due deliveries, a few at a time, until cancelled."""

    def __init__(
        self,
        store: WebhookStore,
        policy: RetryPolicy = RetryPolicy(),
        allow_private: bool = False,
        poll_s: float = 0.5,
        timeout_s: float = 10.0,
    ) -> None:
        self._store = store
        self._policy = policy
        self._allow_private = allow_private
        self._poll_s = poll_s
        # No kept-alive connections: a delivery is sent to the address checked for it, and a pooled connection is
        # found by address, so another host on the same address would reuse a TLS session verified for the first.
        self._client = httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_keepalive_connections=0),
        )  # fmt: skip

    async def run(self) -> None:
        try:
            await keep_running("webhook deliveries", self._loop)
        finally:
            await self._client.aclose()

    async def _loop(self) -> None:
        while True:
            due = await self._store.claim_due(datetime.now(UTC))
            if due:
                # Webhooks in parallel; each webhook's deliveries one at a time, oldest first, so a receiver sees
                # a webhook's events in the order they happened (a retry comes after what was new meanwhile).
                by_hook: dict[str, list[tuple[Delivery, Webhook]]] = {}
                for d, hook in sorted(due, key=lambda pair: pair[0].delivery_id):
                    by_hook.setdefault(hook.webhook_id, []).append((d, hook))
                await asyncio.gather(*(self._deliver_in_order(pairs) for pairs in by_hook.values()))
            else:
                await asyncio.sleep(self._poll_s)

    async def _deliver_in_order(self, pairs: list[tuple[Delivery, Webhook]]) -> None:
        """One webhook's deliveries in order; after a failure the rest wait for the next round (a receiver that
        is down costs one timeout a round, not one per delivery, and holds up no other webhook for long)."""
        for i, (delivery, hook) in enumerate(pairs):
            if not await self.deliver(delivery, hook):
                await self._store.release([d.delivery_id for d, _ in pairs[i + 1 :]])
                return

    async def deliver(self, delivery: Delivery, hook: Webhook) -> bool:
        """One attempt; whether it was delivered. Traced in the trace of the event it carries."""
        carried = {tracing.TRACEPARENT: delivery.trace_parent} if delivery.trace_parent else {}
        with tracing.client_span("webhook deliver", carried, webhook=hook.webhook_id, event=delivery.event_type):
            return await self._attempt(delivery, hook)

    async def _attempt(self, delivery: Delivery, hook: Webhook) -> bool:
        attempts = delivery.attempts + 1
        status_code: int | None = None
        error = ""
        try:
            # Checked again now (a name may resolve elsewhere today), and sent to the very address checked.
            address = await check_url(hook.url, self._allow_private)
            # Through an egress proxy the proxy resolves the name (and should enforce egress rules itself).
            url, host, extensions = pinned(hook.url, None if _proxied(hook.url) else address)
            timestamp = int(time.time())
            body = delivery.body.encode()
            reply = await self._client.post(
                url,
                content=body,
                extensions=extensions,
                headers={
                    **tracing.http_headers(),
                    **host,
                    "Content-Type": "application/json",
                    "X-Outlay-Event": delivery.event_type,
                    "X-Outlay-Delivery": str(delivery.delivery_id),
                    "X-Outlay-Timestamp": str(timestamp),
                    "X-Outlay-Signature": sign(hook.secret, timestamp, body),
                },
            )
            status_code = reply.status_code
            delivered = 200 <= reply.status_code < 300
            if not delivered:
                error = f"the receiver answered {reply.status_code}"
        except Unresolvable as exc:
            delivered, error = False, str(exc)  # DNS may be back by the next try
        except UnsafeUrl as exc:
            delivered, error, attempts = False, str(exc), self._policy.max_attempts  # never retried
        except (httpx.HTTPError, ValueError, OSError) as exc:  # (an odd URL or header fails here, not as HTTP)
            delivered, error = False, f"{type(exc).__name__}: {exc}"
        now = datetime.now(UTC)
        retry_at = None
        if not delivered and attempts < self._policy.max_attempts:
            retry_at = now + timedelta(seconds=self._policy.delay(attempts))
        await self._store.finish(
            delivery.delivery_id, delivered=delivered, attempts=attempts, now=now, status_code=status_code,
            error=error, retry_at=retry_at,
        )  # fmt: skip
        metrics.count_webhook_delivery("delivered" if delivered else "failed" if retry_at is not None else "dead")
        if not delivered and retry_at is None:
            log.warning("webhook %s: delivery %d dead after %d tries: %s", hook.webhook_id, delivery.delivery_id,
                        attempts, error)  # fmt: skip
        return delivered
