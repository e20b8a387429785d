"""The allocation stage: every usage record of `outlay.usage.v1`, with its allocation under its tenant's current rules,
on `outlay.usage.allocated.v1` (docs/allocation.md).

Ports and adapters: `core` allocates records given each tenant's compiled rules (plain Python, no I/O); `cache` keeps
each tenant's compiled rules and notices a new version through the `RulesSource` port; `store_source` is that port
on the store; `stage` is the Kafka adapter (consume, allocate, publish, then commit); `main` is the entrypoint of
`outlay services run allocation`.
"""
