"""Forecasts in the gateway: asked of the forecast service over gRPC (ForecastService)."""
