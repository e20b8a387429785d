"""Outbound webhooks: subscriptions per event type and filter, signed deliveries, retries with back-off and
jitter, a dead-letter state after the last try, redelivery on demand, and a guard against internal addresses."""
