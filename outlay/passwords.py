"""People's passwords: salted scrypt hashes, checked in constant time (no I/O here).

A hash reads `scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>`: its parameters travel with it, so stronger ones can
be chosen later and old hashes still check. scrypt is memory-hard (n=2^14, r=8: 16 MiB and ~50 ms a check on one
core), so a stolen table is slow to guess from, unlike a fast digest; the API keys' SHA-256 is fine only because
their secrets are 256 random bits, which passwords are not.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

MIN_LENGTH = 12  # NIST SP 800-63B asks for at least 8; a dashboard that can approve spend asks for more
MAX_LENGTH = 256  # a longer one only costs the server work (scrypt reads all of it)
N, R, P = 2**14, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32
_MAXMEM = 64 * 1024 * 1024  # room for n=2^15 hashes too (128 * r * n bytes)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=size, maxmem=_MAXMEM)


def hash_password(password: str) -> str:
    """A new salted hash of `password` (a fresh random salt each time: equal passwords hash differently)."""
    salt = secrets.token_bytes(SALT_BYTES)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(_scrypt(password, salt, N, R, P, HASH_BYTES))}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` was made from; False for anything not a hash of this module's."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(expected, validate=True)
        got = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p), len(want))
    except ValueError:  # (binascii.Error is a ValueError; so are bad scrypt parameters)
        return False
    return hmac.compare_digest(got, want)


@functools.cache
def decoy_hash() -> str:
    """A hash of no one's password: an unknown e-mail is checked against it, so it costs as long as a wrong password
    and the answer's timing does not tell which e-mails have accounts (made once, on first use)."""
    return hash_password(secrets.token_urlsafe(24))


def password_problem(password: str) -> str | None:
    """Why `password` may not be used (a sentence), or None."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters long"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters long"
    if password.strip() == "":
        return "must not be only spaces"
    try:
        password.encode()
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON): no text a keyboard types
        return "must be valid Unicode text"
    return None
