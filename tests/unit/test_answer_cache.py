"""The gateway's answer cache: what ends an answer, shared computations, bounds. No I/O."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import pytest

from services.gateway.answer_cache import COMMITS_KEPT, ENTRY_OVERHEAD, AnswerCache

Q3 = (datetime(2026, 7, 1), datetime(2026, 10, 1))  # an answer's time range
IN_Q3 = (datetime(2026, 8, 1, 10), datetime(2026, 8, 1, 11))
TODAY = (datetime(2026, 11, 30, 9), datetime(2026, 11, 30, 9, 1))


def commit(tenant: str, period: tuple[datetime, datetime] = IN_Q3) -> list[tuple[str, datetime, datetime]]:
    return [(tenant, *period)]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Computations:
    """Counts calls; each returns a new body, so a cached answer is told apart from a fresh one."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> bytes:
        self.calls += 1
        return f"answer {self.calls}".encode()


class Held:
    """A computation that waits until released: each call counted, each answer numbered (or `body` if given)."""

    def __init__(self, body: bytes | None = None) -> None:
        self.body = body
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self) -> bytes:
        self.calls += 1
        mine = self.calls
        await self.release.wait()
        return self.body if self.body is not None else f"computation {mine}".encode()


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Let the loop run until `condition` holds (or fail after `within` seconds)."""
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0)


def cache(clock: Clock | None = None, *, max_bytes: int = 100_000, active: bool = True) -> AnswerCache:
    return AnswerCache(max_age=60, max_bytes=max_bytes, active=lambda: active, clock=clock or Clock())


async def test_an_answer_is_kept_until_its_tenant_is_written() -> None:
    answers, compute = cache(), Computations()
    assert await answers.get("acme", "q", Q3, compute) == b"answer 1"
    assert await answers.get("acme", "q", Q3, compute) == b"answer 1"
    answers.invalidate(commit("globex"))  # another tenant's commit changes nothing here
    assert await answers.get("acme", "q", Q3, compute) == b"answer 1"
    answers.invalidate(commit("acme"))
    assert await answers.get("acme", "q", Q3, compute) == b"answer 2"
    assert (answers.stats.hits, answers.stats.misses) == (2, 2)


async def test_tenants_and_queries_never_share_answers() -> None:
    answers, compute = cache(), Computations()
    assert await answers.get("acme", "q", Q3, compute) == b"answer 1"
    assert await answers.get("globex", "q", Q3, compute) == b"answer 2"
    assert await answers.get("acme", "other query", Q3, compute) == b"answer 3"


async def test_answers_end_after_max_age() -> None:
    clock = Clock()
    answers, compute = cache(clock), Computations()
    await answers.get("acme", "q", Q3, compute)
    clock.now = 60
    assert await answers.get("acme", "q", Q3, compute) == b"answer 1"
    clock.now = 60.5
    assert await answers.get("acme", "q", Q3, compute) == b"answer 2"


async def test_nothing_is_served_or_kept_while_inactive() -> None:
    active = True
    answers = AnswerCache(max_age=60, max_bytes=100_000, active=lambda: active)
    compute = Computations()
    await answers.get("acme", "q", Q3, compute)
    active = False  # the progress follower lost the broker: commits may pass unseen
    assert await answers.get("acme", "q", Q3, compute) == b"answer 2"
    active = True
    answers.invalidate_all()  # what the follower does when it is positioned again
    assert await answers.get("acme", "q", Q3, compute) == b"answer 3"
    assert AnswerCache(max_age=0, max_bytes=1000, active=lambda: True).enabled is False


async def test_an_answer_computed_across_a_commit_is_not_kept() -> None:
    answers, held = cache(), Held(b"read before the commit")
    pending = asyncio.ensure_future(answers.get("acme", "q", Q3, held))
    await until(lambda: held.calls == 1)
    answers.invalidate(commit("acme"))  # the ledger committed while the query ran
    held.release.set()
    assert await pending == b"read before the commit"
    assert await answers.get("acme", "q", Q3, Computations()) == b"answer 1"


async def test_concurrent_misses_share_one_computation() -> None:
    answers, held = cache(), Held(b"shared")
    waiters = [asyncio.ensure_future(answers.get("acme", "q", Q3, held)) for _ in range(5)]
    await until(lambda: answers.stats.misses == 5)
    held.release.set()
    assert await asyncio.gather(*waiters) == [b"shared"] * 5
    assert held.calls == 1 and answers.stats.shared == 4


async def test_a_caller_going_away_does_not_cancel_the_others() -> None:
    answers, held = cache(), Held(b"done")
    first = asyncio.ensure_future(answers.get("acme", "q", Q3, held))
    second = asyncio.ensure_future(answers.get("acme", "q", Q3, held))
    await until(lambda: answers.stats.shared == 1)
    first.cancel()
    held.release.set()
    assert await second == b"done"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_failures_reach_every_waiter_and_are_not_kept() -> None:
    answers = cache()

    async def failing() -> bytes:
        raise ValueError("too many cells")

    with pytest.raises(ValueError, match="too many cells"):
        await answers.get("acme", "q", Q3, failing)
    compute = Computations()
    assert await answers.get("acme", "q", Q3, compute) == b"answer 1"


async def test_bounded_in_bytes_least_recently_used_first_out() -> None:
    entry = 8 + ENTRY_OVERHEAD  # answers of 8 bytes each
    answers = cache(max_bytes=5 * entry)  # five fit

    async def body(name: str) -> bytes:
        return name.encode().ljust(8, b".")

    for name in "abcde":
        await answers.get("acme", name, Q3, lambda n=name: body(n))  # type: ignore[misc]
    await answers.get("acme", "a", Q3, lambda: body("a"))  # a is used again: b is now the oldest
    await answers.get("acme", "f", Q3, lambda: body("f"))
    assert answers.size_bytes == 5 * entry
    hits = answers.stats.hits
    compute = Computations()
    assert await answers.get("acme", "a", Q3, compute) == b"a......."
    assert await answers.get("acme", "b", Q3, compute) == b"answer 1"  # evicted
    assert answers.stats.hits == hits + 1
    huge = b"x" * (5 * entry // 4)  # more than a quarter of the cache: served, not kept
    await answers.get("acme", "huge", Q3, lambda: asyncio.sleep(0, huge))
    assert await answers.get("acme", "huge", Q3, compute) == b"answer 2"


async def test_a_key_counts_as_a_digest_whatever_it_holds() -> None:
    answers = cache(max_bytes=10_000)
    await answers.get("acme", ("filters", "x" * 1_000_000), Q3, Computations())
    assert answers.size_bytes == len(b"answer 1") + ENTRY_OVERHEAD


async def test_a_commit_ends_only_the_answers_whose_range_it_touches() -> None:
    answers, compute = cache(), Computations()
    assert await answers.get("acme", "q3", Q3, compute) == b"answer 1"
    answers.invalidate(commit("acme", TODAY))  # today's live minutes: last quarter's answer stands
    assert await answers.get("acme", "q3", Q3, compute) == b"answer 1"
    answers.invalidate(commit("acme", (datetime(2026, 9, 30, 23), datetime(2026, 10, 1, 1))))  # ends inside Q3
    assert await answers.get("acme", "q3", Q3, compute) == b"answer 2"
    answers.invalidate(commit("acme", (datetime(2026, 10, 1), datetime(2026, 10, 2))))  # starts at Q3's end
    assert await answers.get("acme", "q3", Q3, compute) == b"answer 2"
    assert answers.stats.invalidations == 1 and answers.stats.commits == 3


async def test_an_answer_computed_across_a_commit_outside_its_range_is_kept() -> None:
    answers, held = cache(), Held(b"still true")
    pending = asyncio.ensure_future(answers.get("acme", "q", Q3, held))
    await until(lambda: held.calls == 1)
    answers.invalidate(commit("acme", TODAY) + commit("globex"))
    held.release.set()
    assert await pending == b"still true"
    assert await answers.get("acme", "q", Q3, Computations()) == b"still true"


async def test_when_the_commit_log_no_longer_reaches_back_an_answer_is_not_kept() -> None:
    answers, held = cache(), Held(b"maybe stale")
    pending = asyncio.ensure_future(answers.get("acme", "q", Q3, held))
    await until(lambda: held.calls == 1)
    answers.invalidate(commit("acme", TODAY) * (COMMITS_KEPT + 1))  # the log forgets what came first
    held.release.set()
    assert await pending == b"maybe stale"
    assert await answers.get("acme", "q", Q3, Computations()) == b"answer 1"


async def test_a_caller_after_a_commit_does_not_join_a_computation_from_before_it() -> None:
    answers, held = cache(), Held()
    before = asyncio.ensure_future(answers.get("acme", "q", Q3, held))
    await until(lambda: held.calls == 1)
    answers.invalidate(commit("acme"))  # committed in the answer's range while the first computation runs
    after = asyncio.ensure_future(answers.get("acme", "q", Q3, held))
    await until(lambda: held.calls == 2)
    held.release.set()
    assert (await before, await after) == (b"computation 1", b"computation 2")
    assert answers.stats.shared == 0
    assert await answers.get("acme", "q", Q3, Computations()) == b"computation 2"  # the later one was kept
