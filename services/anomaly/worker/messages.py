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
