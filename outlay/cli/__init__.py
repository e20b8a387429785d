"""The `outlay` command line: an entrypoint that only translates arguments into calls."""
