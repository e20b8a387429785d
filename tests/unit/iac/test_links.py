"""Links between resources (`outlay.iac.links`): what the estimator adds to a resource that references another."""

from __future__ import annotations

from outlay.iac.links import REFERENCED_BY, link, linked, referenced_by
from outlay.iac.resources import Resource
from tests.unit.iac.support import resource


def by_address(resources: list[Resource]) -> dict[str, Resource]:
    return {r.address: r for r in link(resources)}


def test_a_reference_brings_its_targets_attributes_under_its_path() -> None:
    template = resource("aws_launch_template.web", {"instance_type": "m5.large", "block_device_mappings": [{}]})
    group = resource("aws_autoscaling_group.web", {"launch_template": [{"id": "${aws_launch_template.web.id}"}]})
    found = by_address([template, group])["aws_autoscaling_group.web"].attributes
    assert found["launch_template"] == [{"id": "${aws_launch_template.web.id}"}]  # the original is kept
    assert found["launch_template.id.instance_type"] == "m5.large"
    assert found["launch_template.id.block_device_mappings"] == [{}]
    target = linked(found, "launch_template.id")
    assert target is not None
    assert (target["instance_type"], target["@address"], target["@type"]) == (
        "m5.large", "aws_launch_template.web", "aws_launch_template")  # fmt: skip
    assert linked(found, "launch_template.name") is None


def test_references_resolve_inside_a_module_and_with_indexes() -> None:
    module = ("module.asg",)
    template = Resource("module.asg.aws_launch_template.this[0]", "aws_launch_template", {"instance_type": "t3.micro"},
                        "us-east-1", module)  # fmt: skip
    group = Resource("module.asg.aws_autoscaling_group.this[0]", "aws_autoscaling_group",
                     {"launch_template": [{"id": "aws_launch_template.this[0].id"}]}, "us-east-1", module)  # fmt: skip
    found = by_address([template, group])["module.asg.aws_autoscaling_group.this[0]"].attributes
    assert found["launch_template.id.instance_type"] == "t3.micro"


def test_the_referenced_resource_lists_who_references_it() -> None:
    cluster = resource("aws_ecs_cluster.main", {"name": "main"})
    providers = resource("aws_ecs_cluster_capacity_providers.main", {"cluster_name": "aws_ecs_cluster.main.name",
                                                                     "capacity_providers": ["FARGATE"]})  # fmt: skip
    service = resource("aws_ecs_service.web", {"cluster": "aws_ecs_cluster.main.arn"})
    found = by_address([cluster, providers, service])
    # two steps: the service sees its cluster, and the cluster's capacity providers
    through = linked(found["aws_ecs_service.web"].attributes, "cluster")
    assert through is not None
    assert [p["capacity_providers"] for p in referenced_by(through, "aws_ecs_cluster_capacity_providers")] == [
        ["FARGATE"]]  # fmt: skip
    assert {r["@address"] for r in found["aws_ecs_cluster.main"].attributes[REFERENCED_BY]} == {
        "aws_ecs_cluster_capacity_providers.main", "aws_ecs_service.web"}  # fmt: skip


def test_strings_that_name_no_resource_are_not_links() -> None:
    alone = resource("aws_vpc_endpoint.e", {"service_name": "com.amazonaws.us-east-1.s3", "vpc_id": "vpc-1",
                                            "policy": "arn:aws:iam::1:role/x", "self": "aws_vpc_endpoint.e.id"})  # fmt: skip
    other = resource("aws_s3_bucket.b", {"bucket": "b"})
    found = link([alone, other])
    assert found == [alone, other]  # unchanged, not even copied


def test_cycles_stop_two_steps_deep() -> None:
    a = resource("aws_security_group.a", {"peer": "aws_security_group.b.id"})
    b = resource("aws_security_group.b", {"peer": "aws_security_group.a.id"})
    found = by_address([a, b])["aws_security_group.a"].attributes
    assert found["peer.peer.@address"] == "aws_security_group.a"
    assert found["peer.peer.peer"] == "aws_security_group.b.id"  # the raw attribute, not followed further
    assert "peer.peer.peer.@address" not in found
