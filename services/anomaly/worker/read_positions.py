"""Where this worker is in each partition it reads, so a message is neither skipped nor read twice.

faust-streaming does not deliver every message of a partition exactly once, in order, to an agent. While a
worker starts (or takes partitions in a rebalance) with a backlog waiting, it reads from its fetch position and
then seeks to the committed offsets: the same messages come twice, and now and then one message of the first
pass never reaches the stream although the ones after it do (seen on a restart under CPU load: one usage line
in a few hundred lost, its minute read as $0, a false "drop" alerted). Its offset is then committed with the
later ones, so nothing would ever read it again; and seeking faust's consumer back does not help, as the
messages it has already fetched move its read mark past the sought ones again.

`ReadPositions` knows the next offset each partition should give. A message before it is a repeat; one after
it names the offsets that went missing, which the stage reads itself (`in_order.py`) before the message.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReadPositions:
    _next: dict[Hashable, int] = field(default_factory=dict)

    def knows(self, partition: Hashable) -> bool:
        return partition in self._next

    def start(self, partition: Hashable, offset: int) -> None:
        """Expect `partition`'s next message at `offset` (its committed offset, when it is assigned)."""
        self._next[partition] = offset

    def forget(self, partitions: Iterable[Hashable]) -> None:
        """Partitions this worker no longer reads: they start again at the group's committed offset."""
        for partition in partitions:
            self._next.pop(partition, None)

    def positions(self) -> list[tuple[Any, int]]:
        """Each partition read, with the next offset expected of it."""
        return list(self._next.items())

    def admit(self, partition: Hashable, offset: int) -> range | None:
        """None for a repeat (pass it over); otherwise the offsets missing before this message (usually
        none), to be read before it. Either way the partition's next offset is then the one after it."""
        expected = self._next.get(partition)
        if expected is not None and offset < expected:
            return None
        self._next[partition] = offset + 1
        return range(offset if expected is None else expected, offset)
