"""Cost anomalies in the gateway: stored from `outlay.anomalies.v1`, listed, pushed live, and judged by people.

`sink` persists every update of an incident (consumer group: each update stored once however many
gateways run); `listing` parses list queries without I/O; `store` reads and writes the `anomalies`
table; `render` is the one JSON shape REST and WebSocket share. Verdicts go to the detector through
`services.gateway.event_sender` on `outlay.anomaly_feedback.v1`.
"""
