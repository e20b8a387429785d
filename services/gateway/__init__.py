"""The gateway service: REST (/v1/costs), WebSocket (/v1/stream) and health endpoints over the ledger."""
