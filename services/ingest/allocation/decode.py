"""Decode a fetch of `outlay.usage.v1`, skipping what does not decode. No I/O.

The ledger reads the same messages and dead-letters the bad ones; a second dead letter of each would only double the
count someone has to investigate. So this stage skips them, counts them and logs where they are (topic, partition,
offset and the first invalid field's path; never the message's content, which may carry tags or ids).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from outlay.events import DeadLetter, UsageRecord
from outlay.kafka.consumer import KafkaMessage

log = logging.getLogger(__name__)


@dataclass
class Decoded:
    records: list[UsageRecord] = field(default_factory=list)
    skipped: int = 0


def decode_usage(messages: Sequence[KafkaMessage]) -> tuple[Decoded, list[DeadLetter]]:
    """A `BatchDecoder` for `BatchConsumer.next_batch_decoded`: the records, and no dead letters (see above)."""
    out = Decoded()
    for message in messages:
        where = f"{message.topic}/{message.partition}/{message.offset}"
        if message.value is None:
            out.skipped += 1
            log.warning("skipped %s: empty message value", where)
            continue
        try:
            out.records.append(UsageRecord.model_validate_json(message.value))
        except ValidationError as exc:
            out.skipped += 1
            first = exc.errors()[0] if exc.error_count() else None
            field = str(first["loc"][0]) if first and first["loc"] else None
            # Only a field the model names: deeper parts of the path (tag keys) and unknown fields are the message's.
            path = field if field in UsageRecord.model_fields else "(a field not in the model, or the message)"
            log.warning("skipped %s: not a UsageRecord (%d error(s), first at %s)", where, exc.error_count(), path)
    return out, []
