"""How deliveries are signed, and how a receiver checks them.

Each delivery carries `X-Outlay-Timestamp` (Unix seconds) and `X-Outlay-Signature: v1=<hex>`, the HMAC-SHA256,
keyed with the webhook's secret, of `<timestamp>.<raw body>`. A receiver recomputes it over the raw bytes it got,
compares in constant time, and refuses timestamps older than a few minutes (replays):

    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(f"v1={expected}", signature) and abs(time.time() - int(timestamp)) <= 300
"""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None) -> bool:
    """The receiver's check (the recipe above, as code)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > TOLERANCE_S:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature)
