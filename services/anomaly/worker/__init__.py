"""The anomaly service's entrypoint: a faust-streaming app that runs the series domain on the stream."""
