"""CloudFormation templates as resources: intrinsics, parameters, mappings, conditions, the type table, and the
AWS sample templates read and priced end to end."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from outlay.iac.estimate import estimate
from outlay.iac.resources import InputError, Problem, Resource
from outlay.iac.sources.cloudformation import is_template, template_resources

TEMPLATES = "iac_cloudformation"


def write(tmp_path: Path, text: str, name: str = "template.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def read(path: Path, region: str = "us-east-1", **parameters: str) -> tuple[dict[str, Resource], list[Problem]]:
    resources, problems = template_resources(path, region, parameters or None)
    return {r.address: r for r in resources}, problems


SHORT = """
Parameters:
  Size: {Type: Number, Default: "8"}
  Zones: {Type: CommaDelimitedList, Default: "a, b"}
Mappings:
  Types: {us-east-1: {web: m5.large}}
Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      InstanceType: !FindInMap [Types, !Ref AWS::Region, web]
      AvailabilityZone: !Join ["", [!Ref AWS::Region, !Select [1, !Ref Zones]]]
      Tags:
        - {Key: Name, Value: !Sub "${AWS::StackName}-web-${Size}"}
        - {Key: Part, Value: !Select [0, !Split [":", !Sub "arn:${AWS::Partition}:x"]]}
  Data:
    Type: AWS::EC2::Volume
    Properties:
      Size: !Ref Size
      VolumeType: !Sub ["gp${N}", {N: 3}]
"""

LONG = {
    "Parameters": {
        "Size": {"Type": "Number", "Default": "8"},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"},
    },
    "Mappings": {"Types": {"us-east-1": {"web": "m5.large"}}},
    "Resources": {
        "Web": {
            "Type": "AWS::EC2::Instance",
            "Properties": {
                "InstanceType": {"Fn::FindInMap": ["Types", {"Ref": "AWS::Region"}, "web"]},
                "AvailabilityZone": {"Fn::Join": ["", [{"Ref": "AWS::Region"}, {"Fn::Select": [1, {"Ref": "Zones"}]}]]},
                "Tags": [
                    {"Key": "Name", "Value": {"Fn::Sub": "${AWS::StackName}-web-${Size}"}},
                    {
                        "Key": "Part",
                        "Value": {"Fn::Select": [0, {"Fn::Split": [":", {"Fn::Sub": "arn:${AWS::Partition}:x"}]}]},
                    },
                ],
            },
        },
        "Data": {
            "Type": "AWS::EC2::Volume",
            "Properties": {"Size": {"Ref": "Size"}, "VolumeType": {"Fn::Sub": ["gp${N}", {"N": 3}]}},
        },
    },
}


def test_short_tags_and_long_forms_read_the_same(tmp_path: Path) -> None:
    short, short_problems = read(write(tmp_path, SHORT))
    long, long_problems = read(write(tmp_path, json.dumps(LONG, indent=2), "template.json"))
    assert short_problems == long_problems == []
    web = short["Web"]
    assert (web.type, web.region) == ("aws_instance", "us-east-1")
    assert web.attributes["instance_type"] == "m5.large"
    assert web.attributes["availability_zone"] == "us-east-1b"
    assert web.tags == {"Name": "stack-web-8", "Part": "arn"}
    assert short["Data"].type == "aws_ebs_volume"
    assert dict(short["Data"].attributes) == {"size": 8, "type": "gp3"}  # a numeric parameter read as a number
    assert {a: (r.type, dict(r.attributes), dict(r.tags)) for a, r in short.items()} == {
        a: (r.type, dict(r.attributes), dict(r.tags)) for a, r in long.items()
    }


PARAMETERS = """
Parameters:
  InstanceType: {Type: String, Default: t3.micro}
  KeyName: {Type: String}
  Detailed: {Type: String, Default: "false"}
Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      InstanceType: !Ref InstanceType
      KeyName: !Ref KeyName
      Monitoring: !Ref Detailed
"""


def test_parameter_defaults_and_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, PARAMETERS)
    resources, problems = read(path)
    # KeyName has no default, but no price rule reads it: no problem is raised for it.
    assert problems == []
    assert resources["Web"].attributes["instance_type"] == "t3.micro"
    assert resources["Web"].attributes["monitoring"] is False  # "false" as the boolean a rule's has() needs
    overridden, problems = read(path, InstanceType="m5.xlarge", Detailed="true")
    assert overridden["Web"].attributes["instance_type"] == "m5.xlarge"
    assert overridden["Web"].attributes["monitoring"] is True
    assert problems == []
    _, problems = read(path, Typo="x")
    assert [p.message for p in problems] == ["parameter Typo is not declared by the template"]


def test_a_parameter_without_a_value_is_a_problem_where_a_price_needs_it(tmp_path: Path) -> None:
    path = write(tmp_path, PARAMETERS.replace("{Type: String, Default: t3.micro}", "{Type: String}"))
    resources, problems = read(path)
    assert resources["Web"].attributes["instance_type"] is None
    assert [str(p) for p in problems] == [
        "Web: InstanceType: cannot resolve !Ref InstanceType: the parameter has no Default (pass a value)"
    ]


MAPPINGS = """
Mappings:
  RegionMap:
    us-east-1: {type: m5.large, "64": gp3}
    eu-west-1: {type: m6g.large, "64": gp2}
Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      InstanceType: !FindInMap [RegionMap, !Ref "AWS::Region", type]
  Disk:
    Type: AWS::EC2::Volume
    Properties:
      VolumeType: !FindInMap [RegionMap, !Ref "AWS::Region", 64]
      Size: !FindInMap [RegionMap, !Ref "AWS::Region", size]
"""


def test_find_in_map_follows_the_region(tmp_path: Path) -> None:
    path = write(tmp_path, MAPPINGS)
    east, problems = read(path)
    assert east["Web"].attributes["instance_type"] == "m5.large"
    assert east["Disk"].attributes["type"] == "gp3"  # a number key (64) matches the string key "64"
    assert [str(p) for p in problems] == [
        "Disk: Size: cannot resolve !FindInMap RegionMap/us-east-1/size: no such entry"
    ]
    west, _ = read(path, region="eu-west-1")
    assert west["Web"].attributes["instance_type"] == "m6g.large"
    assert west["Web"].region == "eu-west-1"


CONDITIONS = """
Parameters:
  Env: {Type: String, Default: prod}
  Unset: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  IsEast: !Equals [!Ref "AWS::Region", us-east-1]
  ProdInEast: !And [!Condition IsProd, !Condition IsEast]
  Either: {"Fn::Or": [{"Condition": "IsDev"}, {"Fn::Equals": ["a", "b"]}]}
  Unknowable: !Equals [!Ref Unset, x]
Resources:
  Always:
    Type: AWS::EC2::Instance
    Properties:
      InstanceType: !If [ProdInEast, m5.large, t3.micro]
  ProdOnly:
    Type: AWS::EC2::NatGateway
    Condition: IsProd
  DevOnly:
    Type: AWS::EC2::NatGateway
    Condition: Either
  Unsure:
    Type: AWS::EC2::NatGateway
    Condition: Unknowable
"""


def test_conditions_leave_out_resources_and_choose_values(tmp_path: Path) -> None:
    path = write(tmp_path, CONDITIONS)
    prod, problems = read(path)
    assert set(prod) == {"Always", "ProdOnly", "Unsure"}
    assert prod["Always"].attributes["instance_type"] == "m5.large"
    # A condition that cannot be evaluated counts the resource (an estimate should not be low) and says so.
    assert [p.address for p in problems] == ["Unsure"]
    assert "counted as if true" in problems[0].message
    dev, _ = read(path, Env="dev")
    assert set(dev) == {"Always", "DevOnly", "Unsure"}
    assert dev["Always"].attributes["instance_type"] == "t3.micro"
    west, _ = read(path, region="eu-west-1")
    assert west["Always"].attributes["instance_type"] == "t3.micro"


NO_VALUE = """
Parameters:
  Iops: {Type: String, Default: ""}
Conditions:
  HasIops: !Not [!Equals [!Ref Iops, ""]]
Resources:
  Db:
    Type: AWS::RDS::DBInstance
    Properties:
      DBInstanceClass: db.m5.large
      Engine: MySQL
      AllocatedStorage: "100"
      Iops: !If [HasIops, !Ref Iops, !Ref "AWS::NoValue"]
      MultiAZ: !Ref "AWS::NoValue"
      VPCSecurityGroups: [!Ref "AWS::NoValue", sg-1]
"""


def test_no_value_removes_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, NO_VALUE)
    resources, problems = read(path)
    assert problems == []
    assert dict(resources["Db"].attributes) == {
        "instance_class": "db.m5.large",
        "engine": "mysql",
        "allocated_storage": 100,
    }
    with_iops, _ = read(path, Iops="3000")
    assert with_iops["Db"].attributes["iops"] == 3000


UNRESOLVABLE = """
Resources:
  WebServer:
    Type: AWS::EC2::Instance
    Properties:
      InstanceType: !ImportValue SharedType
      SubnetId: !ImportValue SharedSubnet
      Monitoring: true
  Volume:
    Type: AWS::EC2::Volume
    Properties:
      Size: !GetAtt Other.Size
      VolumeType: io1
      Iops: 100
  Other:
    Type: AWS::Glue::Job
    Properties:
      Tags: {team: data}
"""


def test_an_unresolvable_intrinsic_is_a_problem_and_the_rest_completes(tmp_path: Path) -> None:
    resources, problems = read(write(tmp_path, UNRESOLVABLE))
    # Only the properties a price rule reads are reported (SubnetId is not).
    assert [str(p) for p in problems] == [
        "WebServer: InstanceType: cannot resolve !ImportValue SharedType",
        "Volume: Size: cannot resolve !GetAtt Other.Size",
    ]
    assert resources["WebServer"].attributes["instance_type"] is None
    assert resources["WebServer"].attributes["monitoring"] is True
    assert dict(resources["Volume"].attributes) == {"size": None, "type": "io1", "iops": 100}
    # An unmapped type keeps its CloudFormation name: the estimate lists it as unsupported.
    assert resources["Other"].type == "AWS::Glue::Job"
    assert resources["Other"].tags == {"team": "data"}
    found = estimate(resources.values(), problems=problems)
    assert {r.address: r.status for r in found.resources}["Other"] == "unsupported"
    assert len(found.problems) >= 2


def test_bad_yaml_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "Resources:\n  Web: [unclosed\n")
    with pytest.raises(InputError, match=r"template\.yaml: not YAML \(.*line"):
        template_resources(path, "us-east-1")
    bad_json = write(tmp_path, '{"Resources": {', "t.json")
    with pytest.raises(InputError, match=r"t\.json: not JSON"):
        template_resources(bad_json, "us-east-1")
    not_a_template = write(tmp_path, '{"planned_values": {}}', "plan.json")
    with pytest.raises(InputError, match="not a CloudFormation template"):
        template_resources(not_a_template, "us-east-1")


def test_is_template() -> None:
    assert is_template({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}})
    assert not is_template({"planned_values": {}})
    assert not is_template(["Resources"])


DEVICES = """
Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      InstanceType: t3.large
      CreditSpecification: {CPUCredits: standard}
      BlockDeviceMappings:
        - DeviceName: /dev/xvda
          Ebs: {VolumeSize: 50, VolumeType: gp3, Iops: 4000}
        - DeviceName: /dev/sdf
          Ebs: {VolumeSize: "100", VolumeType: io2, Iops: "5000"}
        - DeviceName: /dev/sdc
          VirtualName: ephemeral0
"""


def test_block_devices_become_root_and_ebs_blocks(tmp_path: Path) -> None:
    resources, problems = read(write(tmp_path, DEVICES))
    assert problems == []
    web = resources["Web"].attributes
    assert web["root_block_device"] == [{"volume_size": 50, "volume_type": "gp3", "iops": 4000}]
    assert web["ebs_block_device"] == [
        {"device_name": "/dev/sdf", "volume_size": 100, "volume_type": "io2", "iops": 5000}
    ]
    assert web["credit_specification"] == [{"cpu_credits": "standard"}]
    priced = estimate(resources.values())
    assert priced.problems == []
    labels = {s.name for r in priced.resources for s in r.subresources}
    assert labels == {"root_block_device", "ebs_block_device[0]"}


TYPES = """
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  Role: {Type: AWS::IAM::Role}
  Balancer: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer, Properties: {Type: network, Scheme: internal}}
  Fn:
    Type: AWS::Lambda::Function
    Properties: {MemorySize: "512", Architectures: [arm64], EphemeralStorage: {Size: 1024}}
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {BillingMode: PROVISIONED, ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: "10"}}
"""


def test_types_and_properties_follow_the_table(tmp_path: Path) -> None:
    resources, _ = read(write(tmp_path, TYPES))
    assert {a: r.type for a, r in resources.items()} == {
        "Vpc": "aws_vpc", "Role": "aws_iam_role", "Balancer": "aws_lb", "Fn": "aws_lambda_function",
        "Table": "aws_dynamodb_table",
    }  # fmt: skip
    assert resources["Balancer"].attributes == {"load_balancer_type": "network", "internal": True}
    assert resources["Fn"].attributes == {"memory_size": 512, "architectures": ["arm64"],
                                          "ephemeral_storage": [{"size": 1024}]}  # fmt: skip
    table = resources["Table"].attributes
    assert (table["billing_mode"], table["read_capacity"], table["write_capacity"]) == ("PROVISIONED", 5, 10)


LINKS = """
Resources:
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData: {InstanceType: c5.large}
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: "1"
      MaxSize: "4"
      DesiredCapacity: "2"
      LaunchTemplate: {LaunchTemplateId: !Ref Template, Version: !GetAtt Template.LatestVersionNumber}
  Main:
    Type: AWS::RDS::DBInstance
    Properties: {DBInstanceClass: db.t3.medium, Engine: postgres, AllocatedStorage: 20}
  Replica:
    Type: AWS::RDS::DBInstance
    Properties: {DBInstanceClass: db.t3.medium, SourceDBInstanceIdentifier: !Ref Main}
  Cluster:
    Type: AWS::RDS::DBCluster
    Properties: {Engine: aurora-mysql}
  Member:
    Type: AWS::RDS::DBInstance
    Properties: {DBInstanceClass: db.r6g.large, DBClusterIdentifier: !Ref Cluster}
"""


def test_references_name_resources_and_replicas_inherit(tmp_path: Path) -> None:
    resources, problems = read(write(tmp_path, LINKS))
    assert problems == []  # the launch template's version is not read by any rule
    group = resources["Group"].attributes
    assert group["desired_capacity"] == 2
    assert group["launch_template"] == [{"id": "Template"}]  # the logical id: outlay.iac.links follows it
    assert resources["Replica"].attributes["engine"] == "postgres"
    assert resources["Replica"].attributes["allocated_storage"] == 20
    assert resources["Member"].type == "aws_rds_cluster_instance"
    assert resources["Member"].attributes["engine"] == "aurora-mysql"


def test_tags_of_other_tools_are_unknown_values_not_errors(tmp_path: Path) -> None:
    text = "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: {ZipFile: !Rain::Embed x.py}\n      MemorySize: !Rain::Embed size\n"
    resources, problems = read(write(tmp_path, text))
    assert resources["Fn"].attributes["memory_size"] is None
    assert [str(p) for p in problems] == ["Fn: MemorySize: cannot resolve !Rain::Embed size"]


# --- the AWS sample templates ---------------------------------------------------------------------------------


def sample_templates(shared_data: Path) -> list[tuple[Path, int]]:
    root = shared_data / TEMPLATES
    with (root / "templates_index.csv").open() as index:
        return [(root / row["template"], int(row["resources"])) for row in csv.DictReader(index)]


def declared(path: Path) -> dict[str, Any]:
    """The template's Resources as declared (read with the source's own loader: the tags are only kept)."""
    from outlay.iac.sources.cloudformation import load_template

    return load_template(path)["Resources"]  # type: ignore[no-any-return]


def test_every_sample_template_reads_completely(shared_data: Path) -> None:
    templates = sample_templates(shared_data)
    assert len(templates) >= 23
    for path, count in templates:
        resources, _ = template_resources(path, "us-east-1")
        names = {r.address for r in resources}
        template = declared(path)
        assert len(template) == count, path
        # Every resource appears, except those whose Condition is false in us-east-1.
        left_out = set(template) - names
        assert all("Condition" in template[name] for name in left_out), (path, left_out)
        assert len(resources) == count - len(left_out), path
        assert all(r.type.startswith("aws_") for r in resources), path  # every type in the samples is mapped


def test_a_condition_can_keep_every_sample_resource(shared_data: Path) -> None:
    # RDS_MySQL_With_Read_Replica's security group exists only in eu-central-1 (its IsEC2VPC condition).
    path = shared_data / TEMPLATES / "RDS" / "RDS_MySQL_With_Read_Replica.yaml"
    east, _ = template_resources(path, "us-east-1")
    central, _ = template_resources(path, "eu-central-1")
    assert len(central) == 4
    assert {r.address for r in central} - {r.address for r in east} == {"DBEC2SecurityGroup"}
    without_replica, _ = template_resources(path, "us-east-1", {"EnableReadReplica": "false"})
    assert "ReplicaDB" not in {r.address for r in without_replica}


def test_sample_resources_carry_what_the_rules_read(shared_data: Path) -> None:
    root = shared_data / TEMPLATES
    for path, _ in sample_templates(shared_data):
        for resource in template_resources(path, "us-east-1")[0]:
            attributes = resource.attributes
            if resource.type == "aws_instance":
                assert str(attributes["instance_type"]).count(".") == 1, (path, resource.address)
            if resource.type in ("aws_db_instance", "aws_rds_cluster_instance"):
                assert attributes["instance_class"].startswith("db."), (path, resource.address)
                assert attributes["engine"], (path, resource.address)
            if resource.type == "aws_autoscaling_group":
                # The group names its launch template or configuration by logical id, a resource of the template.
                named = attributes.get("launch_template") or [{"id": attributes.get("launch_configuration")}]
                assert named[0]["id"] in declared(path), (path, resource.address)
    eks = {r.address: r for r in template_resources(root / "EKS" / "template.yaml", "us-east-1")[0]}
    nodes = eks["ManagedNodeGroup"].attributes
    assert nodes["instance_types"] == ["t3.medium"]
    assert nodes["scaling_config"] == [{"desired_size": 2, "min_size": 2, "max_size": 2}]
    service = {r.address: r for r in template_resources(
        root / "ECS" / "FargateLaunchType" / "services" / "private-subnet-public-service.yaml", "us-east-1")[0]}  # fmt: skip
    assert service["Service"].attributes["task_definition"] == "TaskDefinition"  # followed by outlay.iac.links
    assert service["Service"].attributes["desired_count"] == 2
    assert (service["TaskDefinition"].attributes["cpu"], service["TaskDefinition"].attributes["memory"]) == (
        "256",
        "512",
    )


def test_sample_templates_are_estimated(shared_data: Path) -> None:
    with_instances = 0
    for path, _ in sample_templates(shared_data):
        resources, problems = template_resources(path, "us-east-1")
        found = estimate(resources, problems=problems)
        assert len(found.resources) == len(resources), path
        if any(r.type == "aws_instance" for r in resources):
            with_instances += 1
            assert found.monthly_cost > 0, path
            instances = {r.address for r in resources if r.type == "aws_instance"}
            assert not [p for p in found.problems if p.address in instances], path
    assert with_instances == 4


def test_the_infracost_cloudformation_example(shared_data: Path) -> None:
    path = shared_data / "iac_infracost" / "examples" / "cloudformation" / "cf.json"
    resources, problems = read(path)
    assert problems == []
    assert {a: r.attributes["billing_mode"] for a, r in resources.items()} == {
        "AlertsTable": "PAY_PER_REQUEST", "BusinessesTable": "PAY_PER_REQUEST", "CustomersTable": "PROVISIONED",
    }  # fmt: skip
    assert (resources["CustomersTable"].attributes["read_capacity"],
            resources["CustomersTable"].attributes["write_capacity"]) == (12, 32)  # fmt: skip


STORED = """
Parameters:
  Type: {Type: "AWS::SSM::Parameter::Value<String>", Default: /app/instance-type}
Resources:
  Web:
    Type: AWS::EC2::Instance
    Properties:
      InstanceType: !Ref Type
      Tenancy: "{{resolve:ssm:/app/tenancy}}"
"""


def test_values_stored_elsewhere_are_unknown_until_given(tmp_path: Path) -> None:
    path = write(tmp_path, STORED)
    resources, problems = read(path)
    assert resources["Web"].attributes["instance_type"] is None
    assert [p.message.split(":")[0] for p in problems] == ["InstanceType", "Tenancy"]
    assert "SSM parameter /app/instance-type" in problems[0].message
    assert problems[1].message == "Tenancy: cannot resolve {{resolve:ssm:/app/tenancy}}"
    given, problems = read(path, Type="m5.large")
    assert given["Web"].attributes["instance_type"] == "m5.large"
    assert [p.message.split(":")[0] for p in problems] == ["Tenancy"]
