"""Plans across many resources at once: the Pareto front of (monthly saving, risk), exactly.

Each resource offers alternatives (keep it as it is, rightsize it, stop it, schedule it, ...), at most one of which
may be taken. With risk scored in small integers (low 1, medium 3, high 9: a high-risk change weighs as much as
nine low ones), the best saving for every total risk budget is a multiple-choice knapsack, solved exactly by
dynamic programming over the budget: one vectorised pass per resource. The front is the budgets where the best
saving grows. Evolutionary search (NSGA-II) approximates this front; with integer risks the exact answer is
cheaper, and the tests check it against enumerating every combination on small cases.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from services.optimizer.recommendations import Recommendation, Risk

RISK_SCORE = {Risk.LOW: 1, Risk.MEDIUM: 3, Risk.HIGH: 9}
MAX_BUDGET = (
    20_000  # risk units the front reaches (20,000 low-risk or 2,222 high-risk changes); memory: resources x this bytes
)


@dataclass(frozen=True)
class FrontPoint:
    risk: int  # total risk score
    monthly_saving: Decimal


class ParetoFront:
    """The front's points, and the plan (which option of which resource) behind any of them, on demand."""

    def __init__(self, options: list[list[Recommendation]], best: np.ndarray, taken: np.ndarray) -> None:
        self._options = options
        self._taken = taken
        self.points: list[FrontPoint] = []
        top = -1
        for risk in np.flatnonzero(best >= 0):
            if best[risk] > top:
                top = int(best[risk])
                self.points.append(FrontPoint(int(risk), Decimal(top) / 100))

    def plan(self, point: FrontPoint) -> list[Recommendation]:
        chosen = []
        risk = point.risk
        for g in range(len(self._options) - 1, -1, -1):
            k = int(self._taken[g, risk])
            if k:
                option = self._options[g][k - 1]
                chosen.append(option)
                risk -= RISK_SCORE[option.risk]
        return chosen[::-1]

    def best_within(self, max_risk: int) -> FrontPoint:
        """The point that saves most without exceeding `max_risk`."""
        if max_risk < 0:
            raise ValueError(f"max_risk: must not be negative, got {max_risk}")
        return max((p for p in self.points if p.risk <= max_risk), key=lambda p: p.monthly_saving)


def pareto_front(recommendations: list[Recommendation]) -> ParetoFront:
    """Every Pareto-optimal plan: no other plan saves more for the same or less risk. Points ordered by risk."""
    groups: dict[str, list[Recommendation]] = defaultdict(list)
    for r in recommendations:
        if r.monthly_saving > 0:
            groups[r.resource_id].append(r)
    options = list(groups.values())
    budget = min(MAX_BUDGET, sum(max(RISK_SCORE[o.risk] for o in group) for group in options))
    best = np.full(budget + 1, -1, dtype=np.int64)  # best saving in cents at exactly this risk; -1: unreachable
    best[0] = 0
    taken = np.zeros((len(options), budget + 1), dtype=np.int8)  # option index + 1 taken at this risk; 0: kept
    for g, group in enumerate(options):
        previous = best.copy()
        for k, option in enumerate(group, start=1):
            w = RISK_SCORE[option.risk]
            if w > budget:
                continue
            cents = int(option.monthly_saving * 100)
            candidate = np.where(previous[:-w] >= 0, previous[:-w] + cents, -1)
            better = candidate > best[w:]
            best[w:] = np.where(better, candidate, best[w:])
            taken[g, w:] = np.where(better, k, taken[g, w:])
    return ParetoFront(options, best, taken)
