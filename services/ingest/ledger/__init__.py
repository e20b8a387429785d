"""The ledger sink: usage records from Kafka into the store (rows + hourly/daily rollups), idempotently."""

from services.ingest.ledger.consumer import LedgerStats, run_ledger
from services.ingest.ledger.rollups import RollupIncrement, RollupKey, rollup_increments, tags_hash
from services.ingest.ledger.writer import LedgerWriter, WriteResult

__all__ = [
    "LedgerStats",
    "LedgerWriter",
    "RollupIncrement",
    "RollupKey",
    "WriteResult",
    "rollup_increments",
    "run_ledger",
    "tags_hash",
]
