"""Cost anomalies in the gateway: stored from `outlay.anomalies.v1`, listed, pushed live, and judged by people.

`sink` persists every update of an incident (consumer group: each update stored once however many
gateways run); `listing` parses list queries without I/O; `store` reads and writes the `anomalies`
table; `render` is the one JSON shape REST and WebSocket share; `feedback` sends a verdict to the
detector on `outlay.anomaly_feedback.v1`.
"""
