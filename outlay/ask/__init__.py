"""Asking about cost in plain English: the domain, in plain Python with no I/O.

- `model`: the structured query a question becomes (one pydantic definition: the API shows it, the LLM is
  constrained to its JSON schema, the offline parser emits it) and the answer's shape.
- `dates`: relative dates ("last week", "Q3", "since 1 March") against an injected `now`, in UTC.
- `vocabulary`: the tenant's known dimension values and the common aliases of AWS service names.
- `parser`: the offline, deterministic parser; `llm`: the prompt and the checking of an LLM's reply;
  `validate`: any query checked against the vocabulary before it runs.
- `api`: a query as the `GET /v1/costs` / `GET /v1/anomalies` requests that answer it.
- `answer`: numbers and a short explanation from the public API's answers; `service`: the use case, with
  its I/O (the cost and anomaly APIs, the LLM) passed in as ports.

Adapters live at the edges: `outlay.ask.adapters.llm_http` (the LLM providers' HTTP APIs), the gateway's
`POST /v1/ask` route and the `outlay ask` command.
"""
