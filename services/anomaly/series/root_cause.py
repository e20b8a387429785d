"""Root cause: the dimension values that explain most of an anomaly's impact.

Per 'dimension=value' (service=AmazonEC2, region=us-east-1, tag:team=checkout, …) the series keeps an
exponentially weighted baseline of its amount per bucket. During an incident, each value's deviation from
its baseline is summed; the explanation is, per dimension, the value that deviates most in the direction
of the impact, kept when it accounts for at least `min_share` of the impact, largest share first. A value that
usually carries (nearly) all of its dimension's spend is left out: it is the series itself, not a cause.

`change` says how much the explaining values moved against their own usual spend over the incident (their
baselines summed over its points): an aggregate series can move by 5% because one resource tripled, or because
one resource stepped by 10%, and only the cause's own change tells the two apart (`IncidentSettings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SOLE_VALUE_SHARE = 0.95  # a value this dominant is the whole series, not a cause within it
MAX_VALUES = 200  # baselines kept per series: the largest spenders (a long tail cannot explain much)


# The change of a value that usually spends nothing: larger than any threshold, and finite, because the state goes
# through JSON (the faust table's codec writes an infinity as null).
NEW_VALUE = 1e9


@dataclass
class CauseBaselines:
    fading_factor: float = 0.05
    min_share: float = 0.5
    means: dict[str, float] = field(default_factory=dict)
    deviation: dict[str, float] = field(default_factory=dict)  # summed over the ongoing incident
    usual: dict[str, float] = field(default_factory=dict)  # the baselines, summed over the ongoing incident

    def observe(self, amounts: dict[str, float], in_incident: bool) -> None:
        """Learn one bucket's split; while an incident is open, first add up how far each value strayed."""
        means = self.means
        if in_incident:
            deviation = self.deviation
            usual = self.usual
            for key in amounts.keys() | means.keys():
                mean = means.get(key, 0.0)
                deviation[key] = deviation.get(key, 0.0) + amounts.get(key, 0.0) - mean
                usual[key] = usual.get(key, 0.0) + mean
        elif self.deviation:
            self.deviation.clear()
            self.usual.clear()
        # A value absent from this bucket moves toward 0; a new value starts at its first amount.
        a = self.fading_factor
        keep = 1.0 - a
        means = {key: keep * mean for key, mean in means.items()}
        for key, amount in amounts.items():
            old = means.get(key)
            means[key] = amount if old is None else old + a * amount
        if len(means) > MAX_VALUES:
            kept = sorted(means, key=means.__getitem__, reverse=True)[:MAX_VALUES]
            means = {k: means[k] for k in kept}
        self.means = means

    def explain(self, impact: float) -> list[str]:
        if impact == 0.0 or not self.deviation:
            return []
        per_dimension: dict[str, float] = {}
        for key, mean in self.means.items():
            dimension = key.split("=", 1)[0]
            per_dimension[dimension] = per_dimension.get(dimension, 0.0) + mean
        best: dict[str, tuple[float, str]] = {}
        for key, deviation in self.deviation.items():
            share = deviation / impact  # > 0 when it moved the way the series did
            dimension = key.split("=", 1)[0]
            usual = per_dimension.get(dimension, 0.0)
            if usual > 0.0 and self.means.get(key, 0.0) >= SOLE_VALUE_SHARE * usual:
                continue  # the series' only usual value of this dimension: naming it explains nothing
            if share > best.get(dimension, (0.0, ""))[0]:
                best[dimension] = (share, key)
        kept = sorted((share, key) for share, key in best.values() if share >= self.min_share)
        return [key for _, key in reversed(kept)]

    def change(self, keys: list[str]) -> float:
        """The largest relative change, over the ongoing incident, of the values `keys` (|summed deviation| over
        summed baseline; NEW_VALUE for a value that usually spends nothing, e.g. a new resource). 0 for none."""
        largest = 0.0
        for key in keys:
            deviation = abs(self.deviation.get(key, 0.0))
            usual = self.usual.get(key, 0.0)
            moved = deviation / usual if usual > 0.0 else (NEW_VALUE if deviation > 0.0 else 0.0)
            largest = max(largest, min(moved, NEW_VALUE))
        return largest

    def state(self) -> dict[str, Any]:
        return {"means": self.means, "deviation": self.deviation, "usual": self.usual}

    def restore(self, state: dict[str, Any]) -> None:
        self.means = dict(state["means"])
        self.deviation = dict(state["deviation"])
        # A state saved before `usual` existed: an ongoing incident's causes count as new values (moved: inf).
        self.usual = dict(state.get("usual", {}))
