"""The split stage gathers a live stream's small fetches into batches (`BatchWindow`): each batch sends marks to
every series partition, so a batch per fetch would have the monitors sweeping many times a second."""

from __future__ import annotations

import pytest

from services.anomaly.worker.app import BatchWindow


def test_nothing_gathered_waits_a_whole_window_and_is_never_full() -> None:
    window = BatchWindow(size=100, within=0.2)
    assert window.wait(now=10.0) == pytest.approx(0.2)
    assert not window.full(now=99.0)
    window.took(0, now=10.0)  # an empty fetch opens nothing
    assert window.opened is None


def test_a_window_opens_at_its_first_line_and_fills_by_time() -> None:
    window = BatchWindow(size=100, within=0.2)
    window.took(3, now=10.0)
    window.took(4, now=10.15)
    assert window.opened == 10.0 and window.taken == 7
    assert window.wait(now=10.15) == pytest.approx(0.05)  # only the window's rest
    assert not window.full(now=10.15)
    assert window.full(now=10.21)
    assert window.wait(now=10.5) == 0.0


def test_a_window_fills_by_size_and_starts_afresh_once_closed() -> None:
    window = BatchWindow(size=100, within=0.2)
    window.took(60, now=10.0)
    window.took(40, now=10.01)
    assert window.full(now=10.01)
    window.close()
    assert (window.opened, window.taken) == (None, 0)
    assert not window.full(now=10.01)
