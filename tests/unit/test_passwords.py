"""Password hashes (salted scrypt, parameters in the hash) and the failed sign-in throttle, with no I/O."""

from __future__ import annotations

import pytest

from outlay.passwords import MIN_LENGTH, decoy_hash, hash_password, password_problem, verify_password
from services.gateway.routes.session import LoginThrottle


def test_a_hash_checks_its_password_only_and_is_salted() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first != second  # a fresh salt each time: equal passwords do not show as equal hashes
    assert first.startswith("scrypt$16384$8$1$")
    assert "correct horse" not in first
    assert verify_password("correct horse battery", first) and verify_password("correct horse battery", second)
    assert not verify_password("correct horse batterY", first)
    assert not verify_password("", first)


@pytest.mark.parametrize(
    "stored", ["", "plain", "bcrypt$x$y$z$a$b", "scrypt$16384$8$1$!!$!!", "scrypt$0$8$1$AA==$AA=="]
)
def test_anything_not_a_hash_of_ours_checks_nothing(stored: str) -> None:
    assert verify_password("whatever password", stored) is False


def test_the_decoy_hash_takes_no_password() -> None:
    assert decoy_hash() == decoy_hash()  # made once
    assert not verify_password("", decoy_hash()) and not verify_password("a" * MIN_LENGTH, decoy_hash())


def test_the_length_rule_says_what_is_wrong() -> None:
    assert password_problem("x" * (MIN_LENGTH - 1)) == f"must be at least {MIN_LENGTH} characters long"
    assert password_problem(" " * 20) == "must not be only spaces"
    assert password_problem("y" * 10_000) is not None
    assert password_problem("a long enough passphrase") is None


def test_the_throttle_refuses_after_five_failures_until_the_first_leaves_the_window() -> None:
    now = [1000.0]
    throttle = LoginThrottle(failures=5, window=900, clock=lambda: now[0])
    pair = ("ann@acme.test", "10.0.0.1")
    for _ in range(5):
        assert throttle.wait(pair) == 0
        throttle.failed(pair)
        now[0] += 10
    assert throttle.wait(pair) == pytest.approx(850)  # the first failure (at 1000) leaves the window at 1900
    assert throttle.wait(("ann@acme.test", "10.0.0.2")) == 0  # another address: not this pair's failures
    assert throttle.wait(("bob@acme.test", "10.0.0.1")) == 0  # another e-mail from the same address
    now[0] = 1900.0
    assert throttle.wait(pair) == 0  # one failure aged out: one more try
    throttle.failed(pair)
    assert throttle.wait(pair) > 0
    throttle.succeeded(pair)
    assert throttle.wait(pair) == 0  # a success forgets the pair's failures


def test_the_throttle_remembers_a_bounded_number_of_pairs() -> None:
    throttle = LoginThrottle(failures=1, window=900, clock=lambda: 0.0)
    throttle.MAX_KEYS = 3
    for i in range(5):
        throttle.failed((f"u{i}@x.test", "1.1.1.1"))
    assert throttle.wait(("u0@x.test", "1.1.1.1")) == 0  # the longest-untouched were forgotten
    assert throttle.wait(("u4@x.test", "1.1.1.1")) > 0


def test_a_lone_surrogate_is_no_password() -> None:
    assert password_problem("a long passphrase \ud800") == "must be valid Unicode text"
    assert verify_password("\ud800" * 12, hash_password("a long passphrase")) is False  # refused, not raised
