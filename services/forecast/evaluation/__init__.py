"""Measuring forecasts: error metrics and rolling-origin backtests (bench-forecast, tests)."""
