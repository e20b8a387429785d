"""An in-memory EC2 for the plan executor's port: AWS is what tests may stand in for (the moto tests use the real
boto3 calls). One instance type can be made to refuse to start, alarms can be made to fire, and volumes and
addresses come and go as on EC2 (a restored volume gets a new id)."""

from __future__ import annotations

from typing import Any


class FakeEc2:
    def __init__(self, instances: dict[str, str], refuse_start_of: str = "") -> None:
        self.state = dict.fromkeys(instances, "running")
        self.type = dict(instances)
        self.firing: dict[str, list[str]] = {}
        self.volumes: dict[str, dict[str, Any]] = {}
        self.snapshots: dict[str, str] = {}  # snapshot id -> volume id
        self.addresses: set[str] = set()
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

    def volume(self, volume_id: str) -> dict[str, Any] | None:
        return self.volumes.get(volume_id)

    def snapshot(self, volume_id: str) -> str:
        snapshot_id = f"snap-{len(self.snapshots) + 1}"
        self.snapshots[snapshot_id] = volume_id
        return snapshot_id

    def delete_volume(self, volume_id: str) -> None:
        del self.volumes[volume_id]

    def restore_volume(self, snapshot_id: str, like: dict[str, Any]) -> str:
        volume_id = f"vol-restored-{snapshot_id}"
        self.volumes[volume_id] = dict(like)
        return volume_id

    def address_exists(self, allocation_id: str) -> bool:
        return allocation_id in self.addresses

    def release_address(self, allocation_id: str) -> None:
        self.addresses.discard(allocation_id)
