"""Terraform plan JSON as resources: addresses, modules, regions, actions, and what is not a plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from outlay.iac.resources import InputError
from outlay.iac.sources import read
from outlay.iac.sources.terraform_plan import load_plan, plan_resources


def plan(**extra: Any) -> dict[str, Any]:
    instance = {"address": "aws_instance.web[0]", "mode": "managed", "type": "aws_instance", "name": "web",
                "index": 0, "provider_name": "registry.terraform.io/hashicorp/aws",
                "values": {"instance_type": "t3.micro", "tags": {"team": "checkout"}}}  # fmt: skip
    lookup = {"address": "data.aws_ami.ubuntu", "mode": "data", "type": "aws_ami", "name": "ubuntu", "values": {}}
    child = {"address": "module.db", "resources": [
        {"address": 'module.db.aws_db_instance.this["main"]', "mode": "managed", "type": "aws_db_instance",
         "name": "this", "values": {"instance_class": "db.t3.micro", "availability_zone": "eu-west-1b"}}]}  # fmt: skip
    document = {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": [instance, lookup], "child_modules": [child]}},
        "resource_changes": [{"address": "aws_instance.web[0]", "change": {"actions": ["delete", "create"]}}],
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "expressions": {"region": {"references": ["var.region"]}}}},
            "root_module": {"resources": [{"address": "aws_instance.web", "provider_config_key": "aws"}]},
        },
        "variables": {"region": {"value": "us-west-2"}},
    }
    document.update(extra)
    return document


def test_addresses_modules_regions_and_actions() -> None:
    resources = {r.address: r for r in plan_resources(plan())}
    assert set(resources) == {"aws_instance.web[0]", 'module.db.aws_db_instance.this["main"]'}  # no data source
    web, db = resources["aws_instance.web[0]"], resources['module.db.aws_db_instance.this["main"]']
    assert (web.region, web.action, web.module, web.tags) == ("us-west-2", "replace", (), {"team": "checkout"})
    # No provider key for the module's resource in the configuration: its availability zone says where it is.
    assert (db.region, db.module, db.action) == ("eu-west-1", ("module.db",), "create")


def test_prior_state_is_the_base_of_a_change() -> None:
    before = {"values": {"root_module": {"resources": [
        {"address": "aws_instance.old", "mode": "managed", "type": "aws_instance", "values": {}}]}}}  # fmt: skip
    resources = plan_resources(plan(prior_state=before), "prior", default_region="us-east-1")
    # The provider's region applies to every resource of that provider; the default only where nothing says.
    assert [(r.address, r.action, r.region) for r in resources] == [("aws_instance.old", "no-op", "us-west-2")]
    unconfigured = plan_resources(plan(prior_state=before, configuration={}), "prior", default_region="us-east-1")
    assert [r.region for r in unconfigured] == ["us-east-1"]


def test_what_is_not_a_plan_is_refused_by_name(tmp_path: Path) -> None:
    broken = tmp_path / "plan.json"
    broken.write_text("{not json")
    with pytest.raises(InputError, match="plan.json: not JSON"):
        load_plan(broken)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": "world"}))
    with pytest.raises(InputError, match="not a Terraform plan"):
        load_plan(other)
    with pytest.raises(InputError, match="no such file"):
        read(tmp_path / "missing.json")


def test_read_tells_a_plan_by_its_content(tmp_path: Path) -> None:
    path = tmp_path / "anything.json"
    path.write_text(json.dumps(plan()))
    found = read(path)
    assert found.kind == "terraform plan"
    assert len(found.resources) == 2


def test_the_sample_plans_give_every_golden_address(shared_data: Path) -> None:
    testdata = shared_data / "iac_infracost/cmd/infracost/testdata"
    resources = plan_resources(load_plan(testdata / "terraform_v0.12_plan.json"))
    addresses = {r.address for r in resources}
    assert 'module.instances.aws_instance.module_instance_named["test.2"]' in addresses
    assert "module.db.module.db_1.module.db_instance.aws_db_instance.this[0]" in addresses
    nested = next(r for r in resources if r.address.endswith("db_1.module.db_instance.aws_db_instance.this[0]"))
    assert nested.module == ("module.db", "module.db.module.db_1", "module.db.module.db_1.module.db_instance")
    assert all(r.region == "us-east-1" for r in resources)


def test_references_to_identifiers_are_kept_for_links_but_templates_keep_their_value() -> None:
    lc = {"address": "aws_launch_configuration.web", "mode": "managed", "type": "aws_launch_configuration",
          "values": {"name": "web-lc", "instance_type": "m5.large"}}  # fmt: skip
    asg = {"address": "aws_autoscaling_group.web", "mode": "managed", "type": "aws_autoscaling_group",
           "values": {"launch_configuration": "web-lc", "name": "web-lc-asg", "launch_template": [{"id": None}]}}  # fmt: skip
    config = {"root_module": {"resources": [
        {"address": "aws_autoscaling_group.web", "expressions": {
            "launch_configuration": {"references": ["aws_launch_configuration.web.name", "aws_launch_configuration.web"]},
            "name": {"references": ["aws_launch_configuration.web.name", "aws_launch_configuration.web"]},  # "${…}-asg"
            "launch_template": [{"id": {"references": ["aws_launch_template.t.id", "aws_launch_template.t"]}}]}}]}}  # fmt: skip
    document = {"planned_values": {"root_module": {"resources": [lc, asg]}}, "configuration": config}
    group = next(r for r in plan_resources(document, default_region="us-east-1") if r.type == "aws_autoscaling_group")
    assert group.attributes["launch_configuration"] == "aws_launch_configuration.web.name"  # exactly the reference
    assert group.attributes["name"] == "web-lc-asg"  # a template around the reference keeps its value
    assert group.attributes["launch_template"] == [{"id": "aws_launch_template.t.id"}]  # unknown until applied
