"""Outbound URLs must not reach internal addresses: loopback, private, link-local (cloud metadata at
169.254.169.254), carrier-grade NAT, multicast, reserved or unspecified, IPv4 and IPv6 (and IPv6 addresses that
carry an IPv4 one: mapped, 6to4, Teredo, NAT64), whatever name resolves to them. Checked when a webhook is made and again before every delivery (a name may resolve elsewhere later). An
operator can allow such addresses (`OUTLAY_WEBHOOK_ALLOW_PRIVATE`, for tests and closed networks)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit


class UnsafeUrl(ValueError):
    """The URL may not be used; the message says why."""


class Unresolvable(UnsafeUrl):
    """The name does not resolve now: perhaps a passing DNS failure (a delivery retries it later)."""


# The well-known NAT64 prefix (RFC 6052): the IPv4 address is the last 32 bits. The local-use prefix
# (64:ff9b:1::/48, RFC 8215) may place it elsewhere, so it is refused outright.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches through mapping, 6to4, Teredo or NAT64, if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client behind the Teredo relay
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if not address.is_global or address.is_multicast:
        return True
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return True
        embedded = _embedded_ipv4(address)
        return embedded is not None and _internal(embedded)
    return False


async def check_url(url: str, allow_private: bool = False) -> str | None:
    """Refuse `url` (UnsafeUrl) unless every address its host resolves to is public; returns the first of them,
    which a delivery then connects to (`pinned`), so a name cannot resolve to a checked address for the check and
    to an internal one for the request. None when internal addresses are allowed (nothing resolved here)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise UnsafeUrl("url: must be http or https")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("url: has no host")
    if parts.username or parts.password:
        raise UnsafeUrl("url: must not carry credentials (the signature authenticates deliveries)")
    if allow_private:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("url: the port is not a number from 0 to 65535") from None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"url: {host!r} does not resolve ({exc})") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    for address in addresses:
        if _internal(address):
            raise UnsafeUrl(f"url: {host!r} resolves to {address}, an internal address (not allowed)")
    if not addresses:
        raise Unresolvable(f"url: {host!r} resolves to no address")
    return str(addresses[0])


def pinned(url: str, address: str | None) -> tuple[str, dict[str, str], dict[str, str]]:
    """(url, headers, request extensions) that send to `address` while naming the URL's host: in the Host header,
    and as the TLS server name, against which the certificate is checked. `address` None: the URL as it is."""
    if address is None:
        return url, {}, {}
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        name = host.encode("idna").decode("ascii")  # an internationalised name as it goes on the wire
    except UnicodeError:
        raise UnsafeUrl(f"url: {host!r} is not a valid host name") from None
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = name if parts.port is None else f"{name}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": host_header}, {"sni_hostname": name}
