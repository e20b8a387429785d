"""A structured query checked against the tenant's vocabulary before it runs (whoever made it: parser or LLM).

A filter on a value the tenant does not have would answer 0 for a question about something else (a misspelt
service, another tenant's team), so it is refused; so is a grouping by a tag key the tenant has never used. A unit
or correlation query must name a business figure the tenant has posted (dividing by a figure never sent would
answer nothing, or worse, another figure), and an allocation query a dimension its allocation rules define.
"""

from __future__ import annotations

from outlay.ask.model import UNIT_GROUPS, UNIT_KINDS, QueryKind, StructuredQuery
from outlay.ask.vocabulary import Vocabulary

# Dimensions the vocabulary does not list (resources are too many; kinds and currencies are few and fixed).
UNLISTED = frozenset({"resource_id", "cost_kind", "currency", "provider"})


def problems(query: StructuredQuery, vocabulary: Vocabulary) -> list[str]:
    """What in `query` the tenant's data does not have; empty when it may run."""
    found: list[str] = []
    if query.kind is not QueryKind.COST:
        return _business_problems(query, vocabulary)
    for item in query.filters:
        if item.dimension in UNLISTED:
            continue
        if item.dimension.startswith("tag:") and item.dimension[4:] not in vocabulary.tags:
            found.append(f"{item.dimension[4:]!r} is not a tag key in your costs")
            continue
        unknown = [v for v in item.values if not vocabulary.knows(item.dimension, v)]
        if unknown:
            found.append(f"{', '.join(repr(v) for v in unknown)} not among your {item.dimension} values")
    for name in query.group_by:
        if name.startswith("tag:") and name[4:] not in vocabulary.tags:
            found.append(f"{name[4:]!r} is not a tag key in your costs")
    return found


def _business_problems(query: StructuredQuery, vocabulary: Vocabulary) -> list[str]:
    found: list[str] = []
    name = query.unit_metric()
    # A unit_cost query without a named figure divides by requests when there are any; the answer says when none
    # were sent. A named figure (and revenue for margins, the driver for correlations) must have been posted.
    named = query.business_metric is not None or query.kind is not QueryKind.UNIT_COST
    if name is not None and named and name not in vocabulary.metrics:
        known = ", ".join(sorted(vocabulary.metrics)) or "none yet"
        found.append(f"{name!r} is not a business metric you have posted (POST /v1/business-metrics; known: {known})")
    if query.kind in UNIT_KINDS:
        for item in query.filters:
            dimension = UNIT_GROUPS[item.dimension]
            known_values = {*vocabulary.values(item.dimension), *vocabulary.metric_values(dimension)}
            unknown = [v for v in item.values if v not in known_values]
            if unknown:
                found.append(f"{', '.join(repr(v) for v in unknown)} not among your {dimension} values")
    if query.kind is QueryKind.ALLOCATION and query.allocate_by not in vocabulary.allocation:
        if not vocabulary.allocation:
            found.append("there are no allocation rules yet (PUT /v1/allocation/rules)")
        else:
            known = ", ".join(vocabulary.allocation)
            found.append(f"the allocation rules define no dimension {query.allocate_by!r} (they define: {known})")
    return found
