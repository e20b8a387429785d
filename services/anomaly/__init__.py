"""Anomaly service: online cost anomaly detection on the usage stream."""
