"""Forecast service: batch forecasts of cost series with calibrated intervals (docs/forecast.md)."""
