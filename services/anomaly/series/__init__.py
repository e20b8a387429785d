"""From usage records to per-series points: which series a record feeds, time buckets, root cause."""
