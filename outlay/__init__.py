"""Outlay: the shared package — event types, Kafka and store plumbing, settings, telemetry, prices.

Service folders under `services/` import from here; nothing here imports a service.
"""

__version__ = "0.1.0"
