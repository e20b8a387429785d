"""Online, per-series anomaly detection: plain Python and River, no I/O."""
