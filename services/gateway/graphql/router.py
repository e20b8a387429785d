"""/graphql: the schema behind the same API keys, scopes and tenant binding as REST, with its query limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from fastapi import Depends, Request
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.fastapi import GraphQLRouter

from services.gateway.graphql.context import BadArgument, Forbidden, GraphQLContext
from services.gateway.graphql.limits import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, CostLimit
from services.gateway.graphql.schema import Mutation, Query
from services.gateway.permissions import Principal

# Factories, not instances: each request gets fresh extensions.
_LIMITS: list[Any] = [
    lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
    lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
    lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    lambda: AddValidationRules([CostLimit]),
    lambda: MaskErrors(should_mask_error=_internal),
]


def _internal(error: GraphQLError) -> bool:
    """Everything but the caller's own mistakes (bad arguments, missing scopes, refused queries) is masked: a
    store or service error must not show its SQL or addresses."""
    original = error.original_error
    return original is not None and not isinstance(original, BadArgument | Forbidden)


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation, extensions=_LIMITS)


def graphql_router(auth: Callable[..., Awaitable[Principal]]) -> GraphQLRouter:  # type: ignore[type-arg]
    async def context(request: Request, principal: Principal = Depends(auth)) -> GraphQLContext:
        return GraphQLContext(request, principal)

    # POST only: a query in a GET URL would land in logs and caches.
    return GraphQLRouter(
        SCHEMA, context_getter=context, allow_queries_via_get=False, graphql_ide=None, include_in_schema=False
    )
