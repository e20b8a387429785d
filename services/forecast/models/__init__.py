"""The forecasting domain: plain numpy over many series at once, no I/O."""
