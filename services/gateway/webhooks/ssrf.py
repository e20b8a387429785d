"""Outbound URLs must not reach internal addresses: loopback, private, link-local (cloud metadata at
169.254.169.254), carrier-grade NAT, multicast, reserved or unspecified, IPv4 and IPv6, whatever name resolves to
them. Checked when a webhook is made and again before every delivery (a name may resolve elsewhere later). An
operator can allow such addresses (`OUTLAY_WEBHOOK_ALLOW_PRIVATE`, for tests and closed networks)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeUrl(ValueError):
    """The URL may not be used; the message says why."""


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


async def check_url(url: str, allow_private: bool = False) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise UnsafeUrl("url: must be http or https")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("url: has no host")
    if parts.username or parts.password:
        raise UnsafeUrl("url: must not carry credentials (the signature authenticates deliveries)")
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("url: the port is not a number from 0 to 65535") from None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"url: {host!r} does not resolve ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if _internal(address):
            raise UnsafeUrl(f"url: {host!r} resolves to {address}, an internal address (not allowed)")
