"""gRPC contracts' Python side: stubs generated from `proto/outlay/rpc/*.proto` by `make proto` (committed;
`tests/unit/test_proto_stubs.py` fails when they are stale) and the conversions between messages and events."""
