"""Asking about cost in plain English: the domain, in plain Python with no I/O.

- `model`: the structured query a question becomes (one pydantic definition: the API shows it, the LLM is
  constrained to its JSON schema, the offline parser emits it) and the answer's shape.
- `dates`: relative dates ("last week", "Q3", "since 1 March") against an injected `now`, in UTC.
- `vocabulary`: the tenant's known dimension values, posted business metrics and allocation dimensions, and the
  common aliases of AWS service names and business figure words.
- `parser`: the offline, deterministic parser; `llm`: the prompt and the checking of an LLM's reply;
  `validate`: any query checked against the vocabulary before it runs.
- `api`: a query as the public API requests that answer it (`GET /v1/costs`, `/v1/anomalies`, `/v1/unit-costs`,
  `/v1/unit-economics/correlation`, `/v1/allocation`, by the query's `kind`).
- `answer`: numbers and a short explanation from the cost and anomaly APIs' answers; `business_answer`: the same
  from the unit-economics and allocation routes' answers; `service`: the use case, with its I/O (those APIs,
  the LLM) passed in as ports.

Adapters live at the edges: `outlay.ask.adapters.llm_http` (the LLM providers' HTTP APIs), the gateway's
`POST /v1/ask` route and the `outlay ask` command.
"""
