"""How much a GraphQL query may ask for: depth, aliases, tokens (strawberry's limiters) and a cost.

The cost counts every field a query could resolve, lists counted as many times as their page may hold (the
`first` argument where given, on the list or on the page that holds it; a page's default size where not; an
estimate for unpaged lists). Named fragments
are counted where they are spread, so they cannot hide work. A query over the limit is refused before any
resolver runs.
"""

from __future__ import annotations

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql.validation import ValidationRule

MAX_DEPTH = 8
MAX_ALIASES = 20
MAX_TOKENS = 2000
MAX_COST = 100_000
MAX_PAGE = 500  # a page size given through a variable counts as the largest page (plans, anomalies)
# Fields whose work is large whatever is selected: costs (up to 50,000 rows), dimensions (up to 400 days scanned),
# allocation (up to 800 buckets of ledger lines), unit costs and correlation (a cost query plus business figures), ask
# (several cost queries, perhaps an LLM call).
EXPENSIVE = {
    "costs": 20_000,
    "dimensions": 10_000,
    "allocation": 20_000,
    "unitCosts": 20_000,
    "correlation": 10_000,
    "ask": 20_000,
}
DEFAULT_PAGE = 50  # a paged field (one with `first`) asked without it: the API's default page
LIST_CAP = 200  # a top-level list without paging (recommendations): the most it is expected to hold
NESTED_LIST = 50  # a list under a list (a plan's audit entries): the most a resolver returns (context.AUDIT_PER_PLAN)


def _first(node: FieldNode) -> int | None:
    """The page size asked for: a literal as given, a variable (unknown while validating) as the largest."""
    for arg in node.arguments or ():
        if arg.name.value in ("first", "limit"):
            return max(1, int(arg.value.value)) if isinstance(arg.value, IntValueNode) else MAX_PAGE
    return None


def selection_cost(
    parent: GraphQLObjectType, selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode],
    schema_types: dict[str, object], multiplier: int, page: int | None, seen: frozenset[str],
) -> int:  # fmt: skip
    """The cost of `selection_set` on `parent`, each field counted `multiplier` times."""
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            field = parent.fields.get(selection.name.value)
            if field is None:
                continue  # introspection and unknown fields: other rules deal with them
            first = _first(selection)
            if first is None and ("first" in field.args or "limit" in field.args):
                first = DEFAULT_PAGE
            times = multiplier
            if is_list_type(get_nullable_type(field.type)):
                times *= min(first or page or (NESTED_LIST if multiplier > 1 else LIST_CAP), MAX_PAGE)
            total += times * EXPENSIVE.get(selection.name.value, 1)
            named = get_named_type(field.type)
            if selection.selection_set is not None and isinstance(named, GraphQLObjectType):
                total += selection_cost(named, selection.selection_set, fragments, schema_types, times, first, seen)
        elif isinstance(selection, InlineFragmentNode):
            target = schema_types.get(selection.type_condition.name.value) if selection.type_condition else parent
            if isinstance(target, GraphQLObjectType):
                total += selection_cost(
                    target, selection.selection_set, fragments, schema_types, multiplier, page, seen
                )
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen:
                continue  # unknown or cyclic: other rules report it
            target = schema_types.get(fragment.type_condition.name.value)
            if isinstance(target, GraphQLObjectType):
                total += selection_cost(
                    target, fragment.selection_set, fragments, schema_types, multiplier, page, seen | {name}
                )
    return total


class CostLimit(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
        schema = self.context.schema
        root = schema.mutation_type if node.operation == OperationType.MUTATION else schema.query_type
        if root is None:
            return
        fragments = {
            d.name.value: d for d in self.context.document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        cost = selection_cost(root, node.selection_set, fragments, dict(schema.type_map), 1, None, frozenset())
        if cost > MAX_COST:
            self.report_error(
                GraphQLError(
                    f"query too complex: it could resolve {cost} fields, more than {MAX_COST}; "
                    "ask for smaller pages (first) or fewer nested lists",
                    node,
                )
            )
