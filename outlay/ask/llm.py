"""The LLM path's domain half: the prompt, the schema the model must fill, and the checking of its reply.

The model is given one tool whose input schema is `LlmReply`'s JSON schema (pydantic's, with references
inlined, since not every provider resolves `$ref`), and must call it. Its reply is validated by the same pydantic
model and then against the tenant's vocabulary; anything else is `LlmInvalid`, and the caller falls back to
the offline parser. The model never sees numbers: it only writes the query, which Outlay runs itself.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError

from outlay.ask.model import LlmReply, StructuredQuery
from outlay.ask.parser import CannotAnswer, today_of
from outlay.ask.validate import problems
from outlay.ask.vocabulary import Vocabulary

TOOL_NAME = "cost_query"
TOOL_DESCRIPTION = (
    "Run a query over the company's AWS cost ledger, unit economics or cost allocation (or say the question "
    "cannot be answered)."
)
SYSTEM = """\
You translate questions about a company's AWS costs into one call of the cost_query tool. You never answer with
numbers yourself: Outlay runs the query and shows the numbers.
Rules:
- Periods are whole UTC days; `end` is exclusive. Weeks start on Monday. "last week" / "last month" are the whole
  previous calendar week / month; "this month" runs from its first day through today; "last N days" are the N
  whole days before today; a month named without a year is the latest one that has begun.
- Use only dimension values and tag keys from the vocabulary given, spelt exactly as listed. An alias such as
  "EC2" means every listed service it names (e.g. "Amazon Elastic Compute Cloud" and "AmazonEC2").
- Growth or "compared with" needs compare_to (default: the period just before, of the same length or calendar
  unit); rank by growth with order_by "change". "Top N" sets limit.
- "Why did costs spike / go up" is intent "explain_spike" with compare_to the period before and group_by service.
- `kind` says which API answers (default "cost": amounts from the cost ledger, everything above):
  - "unit_cost": cost per customer or feature and per N of a business figure ("cost per customer for acme",
    "cost per 1,000 requests"): business_metric is the figure divided by (null: requests), per the N (null:
    1000 for requests, else 1), group_by at most ["tag:customer"] or ["tag:feature"], filters only on that same
    dimension (values from the vocabulary), shared_by_usage true to split shared (untagged) cost across the
    groups by their figure ("including shared costs split by usage").
  - "gross_margin": revenue minus cost, optionally per customer or feature (group_by and filters as for
    unit_cost); business_metric and per null.
  - "correlation": how daily cost moves with a business figure (elasticity, correlation, the part of cost that
    does not scale): business_metric is that figure (null: revenue); no group_by, filters or limit.
  - "allocation": cost per owner under the allocation rules, unallocated cost included ("what share is
    unallocated", "cost by team under the allocation rules"): allocate_by is one of the allocation dimensions
    listed (team when not named and listed); no group_by or filters; limit for a top-N.
  These kinds answer one period: no compare_to, no explain_spike, order_by "cost"; grain total (unit_cost and
  gross_margin may also be day or hour). business_metric must be one of the business metrics listed.
- If the question is not about something these queries can express (revenue on its own, forecasts, budgets,
  savings, anything else), call the tool with answerable false and a short reason.
"""


class LlmInvalid(ValueError):
    """The model's reply is not a valid query for this tenant (the message says why; it never holds the key)."""


class LlmClient(Protocol):
    """An LLM provider, asked to call one tool: returns the tool's input (parsed JSON) or raises LlmInvalid."""

    async def call_tool(self, system: str, user: str, name: str, description: str, schema: dict[str, Any]) -> Any: ...


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every `$ref` to `#/$defs/...` replaced by the definition (pydantic's schemas are acyclic)."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                merged = {**defs[ref.split("/")[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
                return resolve(merged)
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def tool_schema() -> dict[str, Any]:
    return inline_refs(LlmReply.model_json_schema())


def user_message(question: str, now: datetime, vocabulary: Vocabulary) -> str:
    today = today_of(now)
    return (
        f"Today is {today.isoformat()} ({today.strftime('%A')}), UTC.\n"
        f"Vocabulary (dimension or tag:KEY -> values):\n{json.dumps(vocabulary.summary(), sort_keys=True)}\n"
        f"Business metrics posted and allocation dimensions:\n{json.dumps(vocabulary.business_summary(), sort_keys=True)}\n"
        f"Question: {question}"
    )


def read_reply(payload: Any, vocabulary: Vocabulary) -> StructuredQuery | CannotAnswer:
    """The model's tool input, validated; LlmInvalid when it is not a query this tenant can run."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            raise LlmInvalid("the reply is not JSON") from None
    try:
        reply = LlmReply.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "reply"
        raise LlmInvalid(f"the reply does not match the schema ({where}: {first['msg']})") from None
    if not reply.answerable:
        return CannotAnswer(reply.reason or "the model found the question not answerable by a cost query")
    if reply.query is None:
        raise LlmInvalid("the reply says answerable but holds no query")
    found = problems(reply.query, vocabulary)
    if found:
        raise LlmInvalid("the query names what this tenant does not have: " + "; ".join(found))
    return reply.query
