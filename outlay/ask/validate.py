"""A structured query checked against the tenant's vocabulary before it runs (whoever made it: parser or LLM).

A filter on a value the tenant does not have would answer 0 for a question about something else (a misspelt
service, another tenant's team), so it is refused; so is a grouping by a tag key the tenant has never used.
"""

from __future__ import annotations

from outlay.ask.model import StructuredQuery
from outlay.ask.vocabulary import Vocabulary

# Dimensions the vocabulary does not list (resources are too many; kinds and currencies are few and fixed).
UNLISTED = frozenset({"resource_id", "cost_kind", "currency", "provider"})


def problems(query: StructuredQuery, vocabulary: Vocabulary) -> list[str]:
    """What in `query` the tenant's data does not have; empty when it may run."""
    found: list[str] = []
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
