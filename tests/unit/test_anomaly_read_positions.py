"""A stage reads each partition once, in order: repeats are passed over, and a message past the expected
offset names the ones that went missing."""

from __future__ import annotations

from services.anomaly.worker.read_positions import ReadPositions

P0 = ("outlay.usage.v1", 0)
P1 = ("outlay.usage.v1", 1)


def test_in_order_messages_miss_nothing_and_repeats_are_passed_over() -> None:
    positions = ReadPositions()
    positions.start(P0, 10)
    assert [positions.admit(P0, o) for o in (10, 11, 12)] == [range(10, 10), range(11, 11), range(12, 12)]
    assert positions.admit(P0, 11) is None  # delivered again after faust's own seek
    assert positions.admit(P0, 13) == range(13, 13)


def test_a_message_past_the_expected_offset_names_the_missing_ones_once() -> None:
    positions = ReadPositions()
    positions.start(P0, 728)
    assert list(positions.admit(P0, 729) or []) == [728]  # the first message after the committed offset lost
    assert list(positions.admit(P0, 733) or []) == [730, 731, 732]
    assert positions.admit(P0, 731) is None  # the read-back ones, delivered late by faust, are repeats
    assert positions.admit(P0, 734) == range(734, 734)


def test_partitions_are_apart_and_a_forgotten_one_starts_again_where_it_is_told() -> None:
    positions = ReadPositions()
    positions.start(P0, 5)
    assert positions.admit(P1, 100) == range(100, 100)  # never started: read from the first delivered
    assert list(positions.admit(P0, 7) or []) == [5, 6]
    positions.forget([P0])
    assert not positions.knows(P0) and positions.knows(P1)
    positions.start(P0, 3)  # a rebalance gave it back at the group's committed offset
    assert positions.admit(P0, 3) == range(3, 3)
