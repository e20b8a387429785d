"""HTTP and WebSocket entrypoints: they only translate requests into queries and results into JSON."""
