"""Ingest: sources (cost exports on disk or S3, live metering, the demo generator) → Kafka; the ledger sink."""
