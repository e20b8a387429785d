"""Outlay's services, one folder each; each runs as its own process (`outlay services run NAME`)."""
