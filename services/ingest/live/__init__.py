"""Live sources: the demo usage generator and live AWS metering, both emitting one-minute estimated usage."""
