"""Terraform directories read without a plan: addresses (count, for_each, modules), values (variables, locals,
references, nested and dynamic blocks), regions, and the problems met; then the peer's per-resource test
directories, each of whose golden resources must be found."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from outlay.iac.resources import InputError, Resource
from outlay.iac.sources.terraform_hcl import directory_resources
from outlay.iac.sources.terraform_plan import load_plan, plan_resources

TESTDATA = Path("iac_infracost/internal/providers/terraform/aws/testdata")
PER_RESOURCE = sorted(
    ["autoscaling_group", "cloudfront_distribution", "cloudwatch_log_group", "data_transfer", "db_instance",
     "dynamodb_table", "ebs_volume", "ecs_service", "efs_file_system", "eip", "eks_cluster", "eks_node_group",
     "elasticache_cluster", "elasticache_replication_group", "elb", "instance", "kinesis_stream",
     "lambda_function", "lb", "nat_gateway", "rds_cluster_instance", "rds_cluster", "redshift_cluster",
     "route53_zone", "s3_bucket", "sqs_queue", "vpc_endpoint"]
)  # fmt: skip
# Golden resources no configuration declares: a module from the registry (not downloaded here), and the
# usage file's aws_data_transfer pseudo-resources.
NOT_IN_CONFIGURATION = {"autoscaling_group": {"module.asg-lt.aws_autoscaling_group.this[0]"}}


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


def read(directory: Path, files: dict[str, str], default_region: str | None = None) -> dict[str, Resource]:
    resources, problems = directory_resources(write(directory, files), default_region)
    assert problems == []
    return {r.address: r for r in resources}


PROVIDER = 'provider "aws" {\n  region = "eu-west-1"\n}\n'


# -- addresses --------------------------------------------------------------------------------------------------


def test_count_expands_to_indexed_addresses_and_zero_gives_none(tmp_path: Path) -> None:
    found = read(tmp_path, {"main.tf": PROVIDER + """
variable "replicas" {
  default = 2
}
locals {
  enabled = false
}
resource "aws_instance" "web" {
  count         = 3
  instance_type = "t3.micro"
  tags          = { Name = "web-${count.index}" }
}
resource "aws_instance" "replica" {
  count = var.replicas
}
resource "aws_instance" "off" {
  count = local.enabled ? 1 : 0
}
"""})  # fmt: skip
    assert sorted(found) == [
        "aws_instance.replica[0]", "aws_instance.replica[1]",
        "aws_instance.web[0]", "aws_instance.web[1]", "aws_instance.web[2]",
    ]  # fmt: skip
    assert found["aws_instance.web[2]"].tags == {"Name": "web-2"}
    assert found["aws_instance.web[2]"].attributes["instance_type"] == "t3.micro"
    assert "count" not in found["aws_instance.web[0]"].attributes  # meta-arguments are not attributes


def test_for_each_over_maps_sets_and_for_expressions(tmp_path: Path) -> None:
    found = read(tmp_path, {"main.tf": PROVIDER + """
locals {
  sizes    = { small = "t3.micro", large = "m5.large" }
  versions = ["1.29", "1.28", "1.29"]
  engines  = { mysql = ["5.7", "8.0"], postgres = ["16"] }
}
resource "aws_instance" "sized" {
  for_each      = local.sizes
  instance_type = each.value
  tags          = { Size = each.key }
}
resource "aws_eks_cluster" "v" {
  for_each = toset(local.versions)
  version  = each.value
}
resource "aws_db_instance" "db" {
  for_each = { for e in flatten([for engine, vs in local.engines : [for v in vs : { engine = engine, version = v }]]) : "${e.engine}-${e.version}" => e }
  engine         = each.value.engine
  engine_version = each.value.version
}
"""})  # fmt: skip
    assert set(found) == {
        'aws_instance.sized["small"]', 'aws_instance.sized["large"]',
        'aws_eks_cluster.v["1.28"]', 'aws_eks_cluster.v["1.29"]',
        'aws_db_instance.db["mysql-5.7"]', 'aws_db_instance.db["mysql-8.0"]', 'aws_db_instance.db["postgres-16"]',
    }  # fmt: skip
    assert found['aws_instance.sized["large"]'].attributes["instance_type"] == "m5.large"
    assert found['aws_instance.sized["large"]'].tags == {"Size": "large"}
    assert found['aws_db_instance.db["mysql-8.0"]'].attributes == {"engine": "mysql", "engine_version": "8.0"}


def test_variables_locals_tfvars_and_interpolation(tmp_path: Path) -> None:
    found = read(tmp_path, {
        "variables.tf": """
variable "env" {
  default = "dev"
}
variable "size" {
  default = 10
}
variable "type" {}
""",
        "main.tf": PROVIDER + """
locals {
  name   = "app-${var.env}"
  double = var.size * 2
  types  = { dev = "t3.micro", prod = "m5.large" }
}
resource "aws_ebs_volume" "data" {
  size              = local.double + 1
  type              = lookup({ gp = "gp3" }, "gp", "gp2")
  availability_zone = "eu-west-1a"
  tags              = merge({ App = local.name }, { Literal = "$${not.interpolated}" })
}
resource "aws_instance" "web" {
  instance_type = local.types[var.env]
  ami           = var.type
  user_data     = upper(format("%s-%d", local.name, var.size))
}
""",
        "terraform.tfvars": 'env = "prod"\n',
    })  # fmt: skip
    volume = found["aws_ebs_volume.data"]
    assert volume.attributes["size"] == 21
    assert volume.attributes["type"] == "gp3"
    assert volume.tags == {"App": "app-prod", "Literal": "${not.interpolated}"}  # terraform.tfvars won
    web = found["aws_instance.web"].attributes
    assert web["instance_type"] == "m5.large"
    assert web["user_data"] == "APP-PROD-10"
    assert "ami" not in web  # a variable without a default or a value: unknown, left out


def test_unknown_values_are_left_out_and_references_kept_as_markers(tmp_path: Path) -> None:
    found = read(tmp_path, {"main.tf": PROVIDER + """
data "aws_ami" "ubuntu" {
  most_recent = true
}
resource "aws_launch_template" "lt" {
  name          = "lt-name"
  instance_type = "t3.large"
}
resource "aws_launch_configuration" "lc" {
  count         = 2
  instance_type = "t3.small"
}
resource "aws_dynamodb_table" "t" {
  name = "Scores"
}
resource "aws_instance" "other" {
  instance_type = "t3.nano"
}
resource "aws_autoscaling_group" "asg" {
  count                = 2
  launch_configuration = aws_launch_configuration.lc.*.id[count.index]
  launch_template {
    id = aws_launch_template.lt.id
    name = aws_launch_template.lt.name
  }
}
resource "aws_instance" "web" {
  ami           = data.aws_ami.ubuntu.id
  private_ip    = aws_instance.other.private_ip
  instance_type = aws_instance.other.instance_type
  user_data     = file("init.sh")
  resource_id   = "table/${aws_dynamodb_table.t.name}"
  security_groups = [aws_instance.other.private_ip, "sg-1"]
}
"""})  # fmt: skip
    asg = found["aws_autoscaling_group.asg[1]"].attributes
    assert asg["launch_configuration"] == "aws_launch_configuration.lc[1].id"
    # a reference by identity stays a reference (for the estimator to follow), even to a configured name
    assert asg["launch_template"] == [{"id": "aws_launch_template.lt.id", "name": "aws_launch_template.lt.name"}]
    web = found["aws_instance.web"].attributes
    assert web["instance_type"] == "t3.nano"  # another resource's configured value
    assert web["resource_id"] == "table/Scores"  # inside a string, the referenced name's configured value
    assert web["security_groups"] == [None, "sg-1"]
    assert {"ami", "private_ip", "user_data"}.isdisjoint(web)  # data sources, computed attributes, file()
    assert not any(address.startswith("data.") for address in found)


def test_nested_and_dynamic_blocks_are_lists_of_dicts(tmp_path: Path) -> None:
    found = read(tmp_path, {"main.tf": PROVIDER + """
variable "overrides" {
  default = ["t3.large", "t3.xlarge"]
}
resource "aws_instance" "web" {
  root_block_device {
    volume_size = 50
  }
  ebs_block_device {
    device_name = "a"
    volume_size = 10
  }
  ebs_block_device {
    device_name = "b"
    volume_size = 20
  }
  credit_specification {
    cpu_credits = "unlimited"
  }
}
resource "aws_autoscaling_group" "asg" {
  mixed_instances_policy {
    launch_template {
      dynamic "override" {
        for_each = var.overrides
        content {
          instance_type = override.value
        }
      }
      dynamic "tag" {
        for_each = { a = 1 }
        iterator = t
        content {
          key = t.key
        }
      }
    }
  }
}
"""})  # fmt: skip
    web = found["aws_instance.web"].attributes
    assert web["root_block_device"] == [{"volume_size": 50}]
    assert [b["volume_size"] for b in web["ebs_block_device"]] == [10, 20]
    assert web["credit_specification"] == [{"cpu_credits": "unlimited"}]
    template = found["aws_autoscaling_group.asg"].attributes["mixed_instances_policy"][0]["launch_template"][0]
    assert template["override"] == [{"instance_type": "t3.large"}, {"instance_type": "t3.xlarge"}]
    assert template["tag"] == [{"key": "a"}]


# -- modules ----------------------------------------------------------------------------------------------------


def test_local_modules_with_inputs_counts_nesting_and_providers(tmp_path: Path) -> None:
    found = read(tmp_path, {
        "main.tf": PROVIDER + """
provider "aws" {
  alias  = "west"
  region = "us-west-2"
}
module "db" {
  source = "./modules/db"
  class  = "db.t3.large"
}
module "web" {
  source    = "./modules/web"
  count     = 2
  type      = "m5.large"
  providers = { aws = aws.west }
}
""",
        "modules/db/main.tf": """
variable "class" {}
variable "storage" {
  default = 20
}
resource "aws_db_instance" "this" {
  instance_class    = var.class
  allocated_storage = var.storage
}
module "replica" {
  source = "../replica"
  class  = var.class
}
""",
        "modules/replica/main.tf": """
variable "class" {}
resource "aws_db_instance" "replica" {
  instance_class = var.class
}
""",
        "modules/web/main.tf": """
variable "type" {}
resource "aws_instance" "this" {
  instance_type = var.type
}
""",
    })  # fmt: skip
    assert set(found) == {
        "module.db.aws_db_instance.this", "module.db.module.replica.aws_db_instance.replica",
        "module.web[0].aws_instance.this", "module.web[1].aws_instance.this",
    }  # fmt: skip
    db = found["module.db.aws_db_instance.this"]
    assert db.attributes == {"instance_class": "db.t3.large", "allocated_storage": 20}
    assert (db.module, db.region) == (("module.db",), "eu-west-1")
    replica = found["module.db.module.replica.aws_db_instance.replica"]
    assert replica.module == ("module.db", "module.db.module.replica")
    assert replica.attributes["instance_class"] == "db.t3.large"
    web = found["module.web[1].aws_instance.this"]
    assert (web.module, web.region, web.attributes["instance_type"]) == (("module.web[1]",), "us-west-2", "m5.large")


def test_the_peers_example_module(shared_data: Path, tmp_path: Path) -> None:
    example = shared_data / "iac_infracost/examples/terraform"
    shutil.copytree(example / "modules", tmp_path / "modules")
    found = read(
        tmp_path, {"main.tf": (example / "main.tf").read_text() + 'module "foo" {\n  source = "./modules/foo"\n}\n'}
    )
    assert set(found) == {"aws_instance.web_app", "aws_lambda_function.hello_world"} | {
        f'module.foo.aws_instance.web_app["{key}"]' for key in "abc"
    }
    instance = found['module.foo.aws_instance.web_app["b"]']
    assert instance.module == ("module.foo",)
    assert instance.region == "us-east-1"
    assert instance.attributes["ebs_block_device"] == [
        {"device_name": "my_data", "volume_type": "io1", "volume_size": 1000, "iops": 800}
    ]


def test_remote_modules_are_a_problem_unless_terraform_init_downloaded_them(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.tf": PROVIDER + 'module "vpc" {\n  source = "terraform-aws-modules/vpc/aws"\n  nat = 2\n}\n',
    })  # fmt: skip
    resources, problems = directory_resources(tmp_path)
    assert resources == []
    assert [p.address for p in problems] == ["module.vpc"]
    assert "terraform-aws-modules/vpc/aws" in problems[0].message

    manifest = {"Modules": [{"Key": "", "Dir": "."}, {"Key": "vpc", "Dir": ".terraform/modules/vpc"}]}
    write(tmp_path, {
        ".terraform/modules/modules.json": json.dumps(manifest),
        ".terraform/modules/vpc/main.tf": 'variable "nat" {}\nresource "aws_nat_gateway" "this" {\n  count = var.nat\n}\n',
    })  # fmt: skip
    resources, problems = directory_resources(tmp_path)
    assert problems == []
    assert sorted(r.address for r in resources) == [
        "module.vpc.aws_nat_gateway.this[0]",
        "module.vpc.aws_nat_gateway.this[1]",
    ]


# -- regions ----------------------------------------------------------------------------------------------------


def test_region_from_provider_variable_alias_zone_or_default(tmp_path: Path) -> None:
    found = read(tmp_path, {"main.tf": """
variable "region" {
  default = "ap-south-1"
}
provider "aws" {
  region = var.region
}
provider "aws" {
  alias  = "tokyo"
  region = "ap-northeast-1"
}
resource "aws_instance" "a" {}
resource "aws_instance" "b" {
  provider = aws.tokyo
}
"""})  # fmt: skip
    assert (found["aws_instance.a"].region, found["aws_instance.b"].region) == ("ap-south-1", "ap-northeast-1")

    other = write(tmp_path / "no_provider", {"main.tf": """
resource "aws_instance" "a" {}
resource "aws_ebs_volume" "v" {
  availability_zone = "eu-central-1b"
}
"""})  # fmt: skip
    resources, _ = directory_resources(other, default_region="us-east-2")
    assert {r.address: r.region for r in resources} == {
        "aws_instance.a": "us-east-2",
        "aws_ebs_volume.v": "eu-central-1",
    }


# -- problems ---------------------------------------------------------------------------------------------------


def test_a_file_that_does_not_parse_is_a_problem_and_the_others_are_still_read(tmp_path: Path) -> None:
    write(tmp_path, {
        "bad.tf": 'resource "aws_instance" "broken" {\n  instance_type = \n}\n',
        "good.tf": PROVIDER + 'resource "aws_instance" "fine" {\n  instance_type = "t3.micro"\n}\n',
    })  # fmt: skip
    resources, problems = directory_resources(tmp_path)
    assert [r.address for r in resources] == ["aws_instance.fine"]
    assert len(problems) == 1
    assert problems[0].address == str(tmp_path / "bad.tf")
    assert "cannot parse HCL" in problems[0].message and "line 2" in problems[0].message


def test_counts_and_for_each_that_cannot_be_known(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": PROVIDER + """
data "aws_availability_zones" "all" {}
resource "aws_instance" "per_zone" {
  count = length(data.aws_availability_zones.all.names)
}
resource "aws_instance" "each_zone" {
  for_each = toset(data.aws_availability_zones.all.names)
}
"""})  # fmt: skip
    resources, problems = directory_resources(tmp_path)
    assert [r.address for r in resources] == ["aws_instance.per_zone[0]"]  # counted once
    assert {p.address: "cannot be known" in p.message for p in problems} == {
        "aws_instance.per_zone": True, "aws_instance.each_zone": True
    }  # fmt: skip


def test_not_a_terraform_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no Terraform files"):
        directory_resources(tmp_path)
    with pytest.raises(InputError, match="not a directory"):
        directory_resources(tmp_path / "missing")


# -- the peer's test directories --------------------------------------------------------------------------------


def golden_addresses(golden: Path) -> set[str]:
    """The resource lines of a golden table: those whose Name column starts a resource address."""
    return {m.group(1) for m in re.finditer(r"^ ((?:aws_|module\.)\S+)", golden.read_text(), re.MULTILINE)}


@pytest.mark.parametrize("name", PER_RESOURCE)
def test_every_golden_resource_is_found(shared_data: Path, name: str) -> None:
    directory = shared_data / TESTDATA / f"{name}_test"
    resources, problems = directory_resources(directory)
    addresses = [r.address for r in resources]
    golden = golden_addresses(directory / f"{name}_test.golden")
    assert golden, "the golden lists resources"
    assert len(addresses) == len(set(addresses))
    missing = {a for a in golden - set(addresses) if not a.startswith("aws_data_transfer.")}
    assert missing == NOT_IN_CONFIGURATION.get(name, set())
    for address in missing:  # what is not read is said
        assert any(address.startswith(p.address + ".") for p in problems)
    assert all(r.region for r in resources)


def test_the_same_resources_as_the_plan_of_the_same_configuration(shared_data: Path) -> None:
    directory = shared_data / "iac_infracost/cmd/infracost/testdata/breakdown_with_policy_data_upload_plan_json"
    from_hcl, problems = directory_resources(directory)
    from_plan = {r.address: r for r in plan_resources(load_plan(directory / "plan.json"))}
    assert problems == []
    assert sorted(r.address for r in from_hcl) == sorted(from_plan)
    for resource in from_hcl:
        planned = from_plan[resource.address]
        assert (resource.type, resource.region, resource.tags) == (planned.type, planned.region, planned.tags)
        for key, value in resource.attributes.items():
            if not isinstance(value, list):  # blocks: the plan adds provider defaults and orders sets
                assert planned.attributes[key] == value, key


def test_expressions_operators_functions_and_heredocs(tmp_path: Path) -> None:
    found = read(tmp_path, {"main.tf": PROVIDER + """
variable "n" {
  default = 3
}
resource "aws_instance" "web" {
  half       = var.n / 2
  whole      = (var.n + 1) / 2
  negative   = -var.n % 2
  big        = var.n >= 3 && !false
  either     = data.x.y.ok || true
  both       = data.x.y.ok && false
  same       = data.x.y.ok ? "a" : "a"
  which      = data.x.y.ok ? "a" : "b"
  number_eq  = 1 == 1.0
  typed_eq   = 1 == "1"
  fallback   = try(data.x.y.value, "default")
  joined     = join(",", [for i in range(var.n) : tostring(i * 10)])
  grouped    = { for s in ["a1", "a2", "b1"] : substr(s, 0, 1) => s... }
  upper_keys = { for k, v in { b = 2, a = 1 } : upper(k) => v if v > 1 }
  first      = element(concat(["x"], ["y"]), 3)
  policy     = <<EOT
{"Version": "2012-10-17"}
EOT
  indented   = <<-EOT
    line one
      line two
  EOT
}
"""})  # fmt: skip
    values = found["aws_instance.web"].attributes
    assert (values["half"], values["whole"], values["negative"]) == (1.5, 2, -1)
    assert (values["big"], values["either"], values["both"], values["same"]) == (True, True, False, "a")
    assert "which" not in values  # a condition that only apply knows, with branches that differ
    assert (values["number_eq"], values["typed_eq"], values["fallback"]) == (True, False, "default")
    assert values["joined"] == "0,10,20"
    assert values["grouped"] == {"a": ["a1", "a2"], "b": ["b1"]}
    assert values["upper_keys"] == {"B": 2}
    assert values["first"] == "y"
    assert values["policy"] == '{"Version": "2012-10-17"}\n'
    assert values["indented"] == "line one\n  line two\n"
