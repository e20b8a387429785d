"""The boto3 calls plans make: EC2 state and type changes, volume snapshots, deletes and restores, address releases,
and CloudWatch alarm states for verification.

Retries use botocore's standard mode (throttling and transient errors back off and retry); waiters poll every
second so a plan against a fast endpoint (moto) does not sit out AWS's default 15-second delay.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

_RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})
_WAIT = {"Delay": 1, "MaxAttempts": 300}


def db_identifier(arn_or_identifier: str) -> str:
    """arn:aws:rds:REGION:ACCOUNT:db:NAME -> NAME (an identifier is returned as it is)."""
    return arn_or_identifier.split(":db:", 1)[1] if ":db:" in arn_or_identifier else arn_or_identifier


class AwsActions:
    def __init__(
        self,
        region: str,
        endpoint_url: str | None = None,
        session: boto3.Session | None = None,
        db_poll_s: float = 30.0,
        db_wait_s: float = 3600.0,  # a class change takes minutes to tens of minutes
    ) -> None:
        boto: Any = session or boto3.Session()
        self._db_poll_s, self._db_wait_s = db_poll_s, db_wait_s
        self._ec2 = boto.client("ec2", region_name=region, endpoint_url=endpoint_url, config=_RETRIES)
        self._cloudwatch = boto.client("cloudwatch", region_name=region, endpoint_url=endpoint_url, config=_RETRIES)
        self._rds = boto.client("rds", region_name=region, endpoint_url=endpoint_url, config=_RETRIES)

    def instance(self, instance_id: str) -> tuple[str, str]:
        """(state, instance type) of one instance."""
        found = self._ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        return str(found["State"]["Name"]), str(found["InstanceType"])

    def stop(self, instance_id: str) -> None:
        self._ec2.stop_instances(InstanceIds=[instance_id])
        self._ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance_id], WaiterConfig=_WAIT)

    def start(self, instance_id: str) -> None:
        self._ec2.start_instances(InstanceIds=[instance_id])
        self._ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=_WAIT)

    def set_type(self, instance_id: str, instance_type: str) -> None:
        self._ec2.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": instance_type})

    def volume(self, volume_id: str) -> dict[str, Any] | None:
        """What a restore needs to recreate the volume (zone, type, size, IOPS, throughput, tags); None if gone."""
        try:
            found = self._ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidVolume.NotFound":
                return None
            raise
        if not found or found[0].get("State") in ("deleting", "deleted"):
            return None
        v = found[0]
        keys = ("AvailabilityZone", "VolumeType", "Size", "Iops", "Throughput", "Encrypted", "Tags")
        return {k: v[k] for k in keys if k in v}

    def snapshot(self, volume_id: str) -> str:
        snapshot_id = str(
            self._ec2.create_snapshot(VolumeId=volume_id, Description=f"outlay: kept before deleting {volume_id}")[
                "SnapshotId"
            ]
        )
        self._ec2.get_waiter("snapshot_completed").wait(SnapshotIds=[snapshot_id], WaiterConfig=_WAIT)
        return snapshot_id

    def delete_volume(self, volume_id: str) -> None:
        self._ec2.delete_volume(VolumeId=volume_id)

    def restore_volume(self, snapshot_id: str, like: dict[str, Any]) -> str:
        """A new volume from the snapshot, shaped like the deleted one (a new id: AWS never reuses one)."""
        args: dict[str, Any] = {"SnapshotId": snapshot_id, "AvailabilityZone": like["AvailabilityZone"]}
        for key in ("VolumeType", "Size", "Iops", "Throughput"):
            if like.get(key) and not (key == "Iops" and like.get("VolumeType") not in ("io1", "io2", "gp3")):
                args[key] = like[key]
        if like.get("Tags"):
            args["TagSpecifications"] = [{"ResourceType": "volume", "Tags": like["Tags"]}]
        volume_id = str(self._ec2.create_volume(**args)["VolumeId"])
        self._ec2.get_waiter("volume_available").wait(VolumeIds=[volume_id], WaiterConfig=_WAIT)
        return volume_id

    def database(self, arn: str) -> tuple[str, str]:
        """(status, instance class) of an RDS database, by ARN (what scans name it by) or identifier. A class change
        still pending shows as status "modifying": the database is not yet what was asked."""
        found = self._describe_db(arn)
        pending = found.get("PendingModifiedValues", {}).get("DBInstanceClass")
        status = "modifying" if pending and found["DBInstanceStatus"] == "available" else found["DBInstanceStatus"]
        return str(status), str(found["DBInstanceClass"])

    def set_db_class(self, arn: str, instance_class: str) -> None:
        """Change the class now (a restart; Multi-AZ: a fail-over) and return once the database runs as that class
        with nothing pending. Also when another class is pending: asking again replaces it."""
        identifier = db_identifier(arn)
        found = self._describe_db(arn)
        pending = found.get("PendingModifiedValues", {}).get("DBInstanceClass")
        if found["DBInstanceClass"] != instance_class or (pending and pending != instance_class):
            self._rds.modify_db_instance(
                DBInstanceIdentifier=identifier, DBInstanceClass=instance_class, ApplyImmediately=True
            )
        # RDS reports "available" for a while after the call, before "modifying": wait for the class itself.
        deadline = time.monotonic() + self._db_wait_s
        while self.database(arn) != ("available", instance_class):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{identifier} is not running as {instance_class} after {self._db_wait_s:.0f} s")
            time.sleep(self._db_poll_s)

    def _describe_db(self, arn: str) -> dict[str, Any]:
        return self._rds.describe_db_instances(DBInstanceIdentifier=db_identifier(arn))["DBInstances"][0]  # type: ignore[no-any-return]

    def address_exists(self, allocation_id: str) -> bool:
        try:
            return bool(self._ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidAllocationID.NotFound":
                return False
            raise

    def release_address(self, allocation_id: str) -> None:
        self._ec2.release_address(AllocationId=allocation_id)

    def alarms_firing(self, alarm_names: list[str]) -> list[str]:
        """Which of `alarm_names` are in state ALARM now."""
        if not alarm_names:
            return []
        alarms = self._cloudwatch.describe_alarms(AlarmNames=alarm_names)["MetricAlarms"]
        return [a["AlarmName"] for a in alarms if a.get("StateValue") == "ALARM"]

    def alarms_firing_on(self, resource_id: str) -> list[str]:
        """The alarms in state ALARM now that watch a metric of this instance or database (dimension InstanceId or
        DBInstanceIdentifier)."""
        wanted = {("InstanceId", resource_id), ("DBInstanceIdentifier", db_identifier(resource_id))}
        firing = []
        for page in self._cloudwatch.get_paginator("describe_alarms").paginate(StateValue="ALARM"):
            for alarm in page.get("MetricAlarms", []):
                if wanted & {(d["Name"], d["Value"]) for d in alarm.get("Dimensions", [])}:
                    firing.append(str(alarm["AlarmName"]))
        return firing
