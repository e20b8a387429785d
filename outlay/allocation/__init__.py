"""Cost allocation: rules as data (`rules`), tag normalisation (`normalise`), the engine (`engine`) and exact
shared-cost splits (`split`). Plain Python, no I/O; the store and the gateway are adapters around it."""

from outlay.allocation.engine import (
    Allocator,
    Assignment,
    AssignmentKind,
    BucketAllocation,
    CostLine,
    LineKey,
    allocate_lines,
    line_key_of,
)
from outlay.allocation.rules import UNALLOCATED, AllocationRules

__all__ = [
    "UNALLOCATED",
    "AllocationRules",
    "Allocator",
    "Assignment",
    "AssignmentKind",
    "BucketAllocation",
    "CostLine",
    "LineKey",
    "allocate_lines",
    "line_key_of",
]
