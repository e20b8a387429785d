"""Parsers that turn cost exports into `UsageRecord`s (plain Python, no I/O beyond reading a file)."""
