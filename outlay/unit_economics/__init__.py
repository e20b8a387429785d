"""Unit economics in plain Python (no I/O): cost per customer, per feature, per 1,000 requests, gross margin, their
trends and anomalies, and how cost moves with revenue and usage. docs/unit-economics.md."""
