"""The offline parser on the phrasing set: each question must become exactly the expected structured query."""

from __future__ import annotations

from collections import Counter

import pytest

from outlay.ask.model import StructuredQuery
from outlay.ask.parser import CannotAnswer
from tests.fixtures.ask.phrasings import Case, load, run_case

PHRASINGS = load()


def test_the_set_is_large_and_covers_every_shape() -> None:
    shapes = Counter(case.shape for case in PHRASINGS.cases)
    assert len(PHRASINGS.cases) >= 100
    assert set(shapes) >= {"total", "metric", "compare", "growth", "top", "breakdown", "grain", "spike", "cannot"}
    # Unit economics and allocation (GET /v1/unit-costs, /v1/unit-economics/correlation, /v1/allocation).
    business = ("unit_cost", "margin", "correlation", "allocation")
    assert all(shapes[shape] >= 8 for shape in business) and sum(shapes[s] for s in business) >= 40
    kinds = Counter(case.expected.kind.value for case in PHRASINGS.cases if case.expected is not None)
    assert set(kinds) == {"cost", "unit_cost", "gross_margin", "correlation", "allocation"}
    assert len({case.question for case in PHRASINGS.cases}) == len(PHRASINGS.cases), "a question appears twice"


@pytest.mark.parametrize("case", PHRASINGS.cases, ids=[f"{c.shape}:{c.question[:60]}" for c in PHRASINGS.cases])
def test_phrasing(case: Case) -> None:
    result = run_case(PHRASINGS, case)
    if case.expected is None:
        assert isinstance(result, CannotAnswer), result
        assert result.reason
    else:
        assert isinstance(result, StructuredQuery), result
        assert result.model_dump(mode="json") == case.expected.model_dump(mode="json")
