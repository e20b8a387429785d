"""Rightsizing: utilization percentiles per instance and the cheapest type that keeps them under headroom."""
