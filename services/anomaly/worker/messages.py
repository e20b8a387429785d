"""The message on the worker's internal, series-keyed topic: a contribution to a series, or feedback on it.

Both travel on one topic so that, per series, feedback is applied in order with the data it is about.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from outlay.events.anomaly import AnomalyFeedback
from services.anomaly.series.keys import SeriesContribution


class SeriesMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    contribution: SeriesContribution | None = None
    feedback: AnomalyFeedback | None = None

    @property
    def series(self) -> str | None:
        if self.contribution is not None:
            return self.contribution.series
        return None if self.feedback is None else self.feedback.series

    @property
    def key(self) -> bytes:
        """Kafka key: the series, so one worker owns it."""
        return (self.series or "").encode()
