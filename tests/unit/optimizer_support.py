"""An in-memory EC2 for the plan executor's port: AWS is what tests may stand in for (the moto tests use the real
boto3 calls). One instance type can be made to refuse to start, and alarms can be made to fire."""

from __future__ import annotations


class FakeEc2:
    def __init__(self, instances: dict[str, str], refuse_start_of: str = "") -> None:
        self.state = dict.fromkeys(instances, "running")
        self.type = dict(instances)
        self.firing: dict[str, list[str]] = {}
        self._refuse = refuse_start_of

    def instance(self, instance_id: str) -> tuple[str, str]:
        return self.state[instance_id], self.type[instance_id]

    def stop(self, instance_id: str) -> None:
        self.state[instance_id] = "stopped"

    def start(self, instance_id: str) -> None:
        if self.type[instance_id] == self._refuse:
            raise RuntimeError(f"InsufficientInstanceCapacity for {self._refuse}")
        self.state[instance_id] = "running"

    def set_type(self, instance_id: str, instance_type: str) -> None:
        self.type[instance_id] = instance_type

    def alarms_firing_on(self, instance_id: str) -> list[str]:
        return self.firing.get(instance_id, [])
