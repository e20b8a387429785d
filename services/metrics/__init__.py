"""The metrics service: business figures from `outlay.business_metrics.v1` into the store (docs/unit-economics.md)."""
