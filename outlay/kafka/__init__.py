"""Kafka plumbing shared by every service: the embedded broker, topic creation, typed produce/consume."""
