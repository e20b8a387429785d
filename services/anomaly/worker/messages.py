"""The message on the worker's internal, series-keyed topic: contributions to a series, feedback on it, or a split
stage's read marks (`series/watermarks.py`; sent to every partition, not keyed).

All travel on one topic so that, per series, feedback is applied in order with the data it is about, and marks
reach each partition after the contributions they speak for. One
message carries all of a usage batch's contributions to its series, oldest bucket first: in a backfill a batch
spans many buckets, and one message (one state write) per series and batch instead of one per bucket is most of
the worker's throughput.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from outlay.events.anomaly import AnomalyFeedback
from services.anomaly.series.buckets import estimated_bytes
from services.anomaly.series.keys import SeriesContribution
from services.anomaly.series.watermarks import UsageMarks

MAX_MESSAGE_BYTES = 400_000  # a series message's estimated size at most (faust's messages: 1 MB)


class SeriesMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    contributions: list[SeriesContribution] = Field(default_factory=list)
    feedback: AnomalyFeedback | None = None
    marks: UsageMarks | None = None

    @model_validator(mode="after")
    def _one_series(self) -> SeriesMessage:
        if len({c.series for c in self.contributions}) > 1:
            raise ValueError("contributions of one message must all be to one series")
        if sum((bool(self.contributions), self.feedback is not None, self.marks is not None)) > 1:
            raise ValueError("a message carries contributions, feedback or marks, one of them")
        return self

    @classmethod
    def of(cls, contributions: list[SeriesContribution], limit: int = MAX_MESSAGE_BYTES) -> list[SeriesMessage]:
        """One series' contributions as messages of about `limit` bytes at most, in order (a batch that read back
        skipped offsets can hold far more than BATCH lines: one message for the total could pass faust's 1 MB)."""
        messages: list[SeriesMessage] = []
        chunk: list[SeriesContribution] = []
        size = 0
        for c in contributions:
            its = estimated_bytes(len(c.record_ids), len(c.breakdown))
            if chunk and size + its > limit:
                messages.append(cls(contributions=chunk))
                chunk, size = [], 0
            chunk.append(c)
            size += its
        if chunk:
            messages.append(cls(contributions=chunk))
        return messages

    @property
    def series(self) -> str | None:
        if self.contributions:
            return self.contributions[0].series
        return None if self.feedback is None else self.feedback.series

    @property
    def key(self) -> bytes:
        """Kafka key: the series, so one worker owns it."""
        return (self.series or "").encode()
