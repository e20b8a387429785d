"""AWS CloudFormation templates (YAML with the short intrinsic tags, or JSON) as `Resource`s.

Intrinsics are evaluated the way CloudFormation would when the stack is created: parameters (their `Default`,
or a value passed in), `Mappings`, `Conditions` (a resource whose condition is false is left out), pseudo
parameters and `AWS::NoValue`. What only exists once the stack does (another resource's `!GetAtt`, another
stack's `!ImportValue`) stays unknown: an attribute the price rules read becomes None and a problem names the
resource and the property; the rest completes.

Each CloudFormation type is mapped to the Terraform type the price rules are keyed by, its properties renamed to
the Terraform attributes those rules read (`TYPES`, one entry per type). A type not in the table keeps its
CloudFormation name, so the estimate lists it as unsupported rather than dropping it.

A `!Ref` to another resource gives its logical id (its physical id is only known once it exists, and the logical
id is the resource's address), so that `outlay.iac.links` can follow it: an Auto Scaling group's
`launch_template` [{"id": "LaunchTemplate"}], an ECS service's `task_definition`. A read replica or an Aurora
instance takes the engine (and a replica its storage) of the instance or cluster it belongs to here, since the
RDS rules read them from the instance itself.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from outlay.iac.resources import InputError, Problem, Resource

ACCOUNT_ID = "123456789012"  # AWS::AccountId: only ever part of names and ARNs, which are never priced
STACK_NAME = "stack"
ZONES = "abc"  # !GetAZs: the region's first zones, enough for placement (zones are never priced)


# --- reading -------------------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, with CloudFormation's short tags read as their long forms (`!Ref X` -> {"Ref": X})."""


def _node_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


def _long_form(name: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value = _node_value(loader, node)
        if name == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1)  # `!GetAtt Db.Endpoint.Address` is ["Db", "Endpoint.Address"]
        return {name: value}

    return construct


def _other_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    """A tag CloudFormation does not know (a preprocessor's, like `!Rain::Embed`): kept, resolved as unknown."""
    return {"!" + suffix: _node_value(loader, node)}


SHORT_TAGS = ("Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub",
              "Transform", "If", "Equals", "Not", "And", "Or", "Length", "ToJsonString")  # fmt: skip
for _tag in SHORT_TAGS:
    _Loader.add_constructor(f"!{_tag}", _long_form(f"Fn::{_tag}"))
_Loader.add_constructor("!Ref", _long_form("Ref"))
_Loader.add_constructor("!Condition", _long_form("Condition"))
_Loader.add_multi_constructor("!", _other_tag)


def is_template(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("Resources"), dict)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def load_template(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not text ({exc})") from None
    try:
        # JSON is parsed as JSON: its error messages are clearer, and tabs (legal in JSON) are not in YAML.
        document = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=_Loader)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not YAML ({_one_line(str(exc))})") from None
    if not is_template(document):
        raise InputError(f"{path}: not a CloudFormation template (no Resources section)")
    return document  # type: ignore[no-any-return]


# --- evaluating intrinsics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unknown:
    """A value known only once the stack exists; `reason` says which intrinsic it came from."""

    reason: str


class _NoValue:
    """`AWS::NoValue`: the key (or list item) holding it is removed."""


NO_VALUE = _NoValue()


def _first_unknown(value: Any) -> Unknown | None:
    if isinstance(value, Unknown):
        return value
    items = value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else ()
    for item in items:
        found = _first_unknown(item)
        if found:
            return found
    return None


def _text(value: Any) -> str:
    """A value as CloudFormation compares and joins it: everything is a string (booleans in lower case)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _short(function: str) -> str:
    """`Fn::GetAtt` as its tag, `!GetAtt` (another tool's tag is kept as written)."""
    return function if function.startswith("!") else "!" + function.removeprefix("Fn::")


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _pseudo_parameters(region: str) -> dict[str, Any]:
    partition = _partition(region)
    return {
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": STACK_NAME,
        "AWS::StackId": f"arn:{partition}:cloudformation:{region}:{ACCOUNT_ID}:stack/{STACK_NAME}/0",
        "AWS::Partition": partition,
        "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
        "AWS::NotificationARNs": [],
    }


def _parameter_value(name: str, declared: Mapping[str, Any], given: str | None) -> Any:
    raw = given if given is not None else declared.get("Default")
    if raw is None:
        return Unknown(f"cannot resolve !Ref {name}: the parameter has no Default (pass a value)")
    kind = str(declared.get("Type", "String"))
    if kind.startswith("AWS::SSM::Parameter::Value<") and given is None:
        return Unknown(f"cannot resolve !Ref {name}: the SSM parameter {raw} is read when the stack is created "
                       "(pass its value)")  # fmt: skip
    if (kind.startswith("List<") or kind == "CommaDelimitedList") and isinstance(raw, str):
        return [item.strip() for item in raw.split(",")]
    return [_text(item) for item in raw] if isinstance(raw, list) else _text(raw)  # parameters are strings


DYNAMIC = re.compile(r"\{\{resolve:[^}]*\}\}")


def _dynamic(value: Any) -> Any:
    """A dynamic reference (`{{resolve:ssm:name}}`) is read from SSM or Secrets Manager when the stack is made."""
    found = DYNAMIC.search(value) if isinstance(value, str) else None
    return Unknown(f"cannot resolve {found.group(0)}") if found else value


class _Template:
    """One template's parameters, mappings and conditions, and the evaluation of intrinsics against them."""

    def __init__(self, document: Mapping[str, Any], region: str, parameters: Mapping[str, str]) -> None:
        self.region = region
        self.resources: Mapping[str, Any] = document["Resources"]
        self.mappings: Mapping[str, Any] = document.get("Mappings") or {}
        self.condition_specs: Mapping[str, Any] = document.get("Conditions") or {}
        declared: Mapping[str, Any] = document.get("Parameters") or {}
        self.values = _pseudo_parameters(region)
        for name, spec in declared.items():
            self.values[name] = _parameter_value(name, spec if isinstance(spec, Mapping) else {}, parameters.get(name))
        self.undeclared = sorted(set(parameters) - set(declared))
        self._conditions: dict[str, bool | Unknown] = {}

    def resolve(self, node: Any) -> Any:
        """`node` with every intrinsic evaluated; what cannot be is an `Unknown` in its place."""
        if isinstance(node, Mapping):
            if len(node) == 1:
                (key, argument), = node.items()  # fmt: skip
                if key in INTRINSICS:
                    return INTRINSICS[key](self, argument)
                if str(key).startswith(("Fn::", "!")):
                    shown = argument if isinstance(argument, str) else "..."
                    return Unknown(f"cannot resolve {_short(str(key))} {shown}")
            resolved = {str(k): self.resolve(v) for k, v in node.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not NO_VALUE]
        return _dynamic(node)

    def condition(self, name: Any) -> bool | Unknown:
        """A named condition's value, each evaluated once."""
        name = str(name)
        if name not in self._conditions:
            if name not in self.condition_specs:
                return Unknown(f"no condition named {name}")
            self._conditions[name] = Unknown(f"condition {name} refers to itself")  # until evaluated
            self._conditions[name] = self.truth(self.condition_specs[name])
        return self._conditions[name]

    def truth(self, node: Any) -> bool | Unknown:
        """A condition function's argument: a `{"Condition": name}` or an intrinsic giving true or false."""
        if isinstance(node, Mapping) and list(node) == ["Condition"]:
            return self.condition(node["Condition"])
        value = self.resolve(node)
        if isinstance(value, Unknown | bool):
            return value
        if _text(value).lower() in ("true", "false"):
            return _text(value).lower() == "true"
        return Unknown(f"not a condition: {value!r}")

    def mapping(self, name: Any, top: Any, second: Any) -> Any:
        # Mapping keys may be read as numbers (`64:`) or booleans: CloudFormation compares them as strings.
        level = self.mappings.get(str(name))
        for key in (top, second):
            if not isinstance(level, Mapping):
                return None
            level = {_text(k): v for k, v in level.items()}.get(_text(key))
        return level


def _arguments(template: _Template, argument: Any, count: int, name: str) -> list[Any] | Unknown:
    """A function's list argument, resolved; an Unknown when it is not a list of at least `count` items."""
    values = template.resolve(argument)
    if isinstance(values, Unknown):
        return values
    if not isinstance(values, list) or len(values) < count:
        return Unknown(f"{name} expects a list of {count}, got {argument!r}")
    return values


def _ref(template: _Template, argument: Any) -> Any:
    name = template.resolve(argument)
    if name == "AWS::NoValue":
        return NO_VALUE
    if isinstance(name, str) and name in template.values:
        return template.values[name]
    if isinstance(name, str) and name in template.resources:
        return name  # a resource's physical id: its logical id stands in (see the module's docstring)
    return Unknown(f"cannot resolve !Ref {name}: no parameter or resource of that name")


def _get_att(template: _Template, argument: Any) -> Unknown:
    parts = argument.split(".", 1) if isinstance(argument, str) else argument
    shown = ".".join(_text(p) for p in parts) if isinstance(parts, list) else _text(parts)
    return Unknown(f"cannot resolve !GetAtt {shown}")


def _import_value(template: _Template, argument: Any) -> Unknown:
    name = template.resolve(argument)
    return Unknown(f"cannot resolve !ImportValue {name if isinstance(name, str) else '(an unknown name)'}")


SUBSTITUTION = re.compile(r"\$\{([^}]*)\}")


def _sub(template: _Template, argument: Any) -> Any:
    # `!Sub text` or `!Sub [text, {name: value}]`: ${name} is a variable, a parameter or a resource, ${Res.Attr}
    # a !GetAtt, ${!name} a literal ${name}.
    text, names = (argument[0], argument[1:2]) if isinstance(argument, list) else (argument, [])
    names = names[0] if names else {}
    variables = template.resolve(names) if isinstance(names, Mapping) else {}
    unknown: list[Unknown] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"  # `${!Literal}` is written out as `${Literal}`
        if name in variables:
            value = variables[name]
        elif "." in name and name.split(".", 1)[0] in template.resources:
            value = _get_att(template, name)
        else:
            value = _ref(template, name)
        found = _first_unknown(value)
        if found:
            unknown.append(found)
            return ""
        return ",".join(map(_text, value)) if isinstance(value, list) else _text(value)

    result = SUBSTITUTION.sub(replace, str(text))
    return unknown[0] if unknown else _dynamic(result)


def _join(template: _Template, argument: Any) -> Any:
    values = _arguments(template, argument, 2, "!Join")
    if isinstance(values, Unknown):
        return values
    items = values[1]
    found = _first_unknown(items)
    if found:
        return found
    return _text(values[0]).join(map(_text, items if isinstance(items, list) else [items]))


def _select(template: _Template, argument: Any) -> Any:
    values = _arguments(template, argument, 2, "!Select")
    if isinstance(values, Unknown):
        return values
    index, items = values
    found = _first_unknown(index) or (items if isinstance(items, Unknown) else None)
    if found:
        return found
    try:
        return items[int(index)]
    except (ValueError, TypeError, IndexError):
        return Unknown(f"!Select {index} of {items!r}: no such item")


def _split(template: _Template, argument: Any) -> Any:
    values = _arguments(template, argument, 2, "!Split")
    if isinstance(values, Unknown):
        return values
    found = _first_unknown(values)
    return found or _text(values[1]).split(_text(values[0]))


def _find_in_map(template: _Template, argument: Any) -> Any:
    values = _arguments(template, argument, 3, "!FindInMap")
    if isinstance(values, Unknown):
        return values
    found = _first_unknown(values[:3])
    if found:
        return found
    value = template.mapping(*values[:3])
    if value is None and len(values) > 3 and isinstance(values[3], Mapping) and "DefaultValue" in values[3]:
        return values[3]["DefaultValue"]  # the language extensions' fourth argument
    if value is None:
        return Unknown(f"cannot resolve !FindInMap {'/'.join(map(_text, values[:3]))}: no such entry")
    return value


def _if(template: _Template, argument: Any) -> Any:
    if not isinstance(argument, list) or len(argument) != 3:
        return Unknown(f"!If expects [condition, then, else], got {argument!r}")
    chosen = template.condition(template.resolve(argument[0]))
    if isinstance(chosen, Unknown):
        return chosen
    return template.resolve(argument[1] if chosen else argument[2])


def _equals(template: _Template, argument: Any) -> bool | Unknown:
    values = _arguments(template, argument, 2, "!Equals")
    if isinstance(values, Unknown):
        return values
    found = _first_unknown(values)
    return found or _text(values[0]) == _text(values[1])


def _conditions(template: _Template, argument: Any, name: str) -> list[bool] | Unknown:
    truths = [template.truth(item) for item in argument] if isinstance(argument, list) else []
    if not truths:
        return Unknown(f"{name} expects a list of conditions, got {argument!r}")
    for truth in truths:
        if isinstance(truth, Unknown):
            return truth
    return [bool(t) for t in truths]


def _not(template: _Template, argument: Any) -> bool | Unknown:
    truths = _conditions(template, argument, "!Not")
    return truths if isinstance(truths, Unknown) else not truths[0]


def _and(template: _Template, argument: Any) -> bool | Unknown:
    truths = _conditions(template, argument, "!And")
    return truths if isinstance(truths, Unknown) else all(truths)


def _or(template: _Template, argument: Any) -> bool | Unknown:
    truths = _conditions(template, argument, "!Or")
    return truths if isinstance(truths, Unknown) else any(truths)


def _base64(template: _Template, argument: Any) -> Any:
    value = template.resolve(argument)
    found = _first_unknown(value)
    return found or base64.b64encode(_text(value).encode()).decode()


def _get_azs(template: _Template, argument: Any) -> Any:
    region = template.resolve(argument)
    region = region if isinstance(region, str) and region else template.region
    return [f"{region}{zone}" for zone in ZONES]


def _length(template: _Template, argument: Any) -> Any:
    value = template.resolve(argument)
    found = _first_unknown(value)
    return found or (len(value) if isinstance(value, list) else Unknown(f"!Length of {value!r}"))


def _to_json_string(template: _Template, argument: Any) -> Any:
    value = template.resolve(argument)
    found = _first_unknown(value)
    return found or json.dumps(value, separators=(",", ":"))


INTRINSICS: dict[str, Callable[[_Template, Any], Any]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::ImportValue": _import_value,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::FindInMap": _find_in_map,
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": _not,
    "Fn::And": _and,
    "Fn::Or": _or,
    "Fn::Base64": _base64,
    "Fn::GetAZs": _get_azs,
    "Fn::Length": _length,
    "Fn::ToJsonString": _to_json_string,
}


# --- the type table's vocabulary -----------------------------------------------------------------------------


def _same(value: Any) -> Any:
    return value


def boolean(value: Any) -> Any:
    """CloudFormation accepts "true"/"false" strings (and parameters are strings): a rule's `has()` needs a bool."""
    return value.lower() == "true" if isinstance(value, str) and value.lower() in ("true", "false") else value


def number(value: Any) -> Any:
    """A numeric string as a number; anything else is left for the rule to report."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


def lower(value: Any) -> Any:
    """Engine names: CloudFormation takes any case ("MySQL"), Terraform and the price rules use lower case."""
    return value.lower() if isinstance(value, str) else value


def listed(value: Any) -> Any:
    """A property that may be one value or a list, as the list Terraform keeps."""
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class To:
    """The property's value becomes the attribute, through `convert`."""

    attribute: str
    convert: Callable[[Any], Any] = _same


@dataclass(frozen=True)
class Nested:
    """An object property becomes a Terraform nested block (a one-element list) of its keys, translated; `many`:
    a list of objects, each one block."""

    attribute: str
    keys: Mapping[str, Spec]
    many: bool = False


@dataclass(frozen=True)
class Spread:
    """An object property's keys become top-level attributes (ProvisionedThroughput -> read_capacity, ...)."""

    keys: Mapping[str, Spec]


Spec = str | To | Nested | Spread  # a plain string: the attribute the value is copied to
Attributes = dict[str, Any]
Finish = Callable[[Attributes], Attributes]  # reshapes a type's translated attributes (block devices)
Link = Callable[[Attributes, Mapping[str, "Translated"]], Attributes]  # takes values from referenced resources
Variant = Callable[[Attributes], str | None]  # another Terraform type for some of a CloudFormation type's resources


@dataclass(frozen=True)
class CfnType:
    terraform: str
    properties: Mapping[str, Spec] = field(default_factory=dict)
    finish: Finish | None = None
    link: Link | None = None
    variant: Variant | None = None


@dataclass
class Translated:
    type: str
    attributes: Attributes
    tags: dict[str, str]


# --- reshaping and linking ------------------------------------------------------------------------------------

# Root devices of the usual AMIs (Amazon Linux, Ubuntu and Windows): CloudFormation does not say which mapping
# is the root volume, Terraform's aws_instance keeps it apart from the other EBS volumes.
ROOT_DEVICES = ("/dev/xvda", "/dev/sda1", "/dev/sda", "xvda", "sda1")


def split_block_devices(attributes: Attributes) -> Attributes:
    """`block_device_mappings` as Terraform's root_block_device and ebs_block_device; instance-store
    (`virtual_name`) and suppressed (`no_device`) mappings are dropped: the instance's price includes them."""
    mappings = attributes.pop("block_device_mappings", None) or []
    volumes = [m for m in mappings if not m.get("virtual_name") and not m.get("no_device")]
    root = [m for m in volumes if m.get("device_name") in ROOT_DEVICES]
    if root:
        attributes["root_block_device"] = [{k: v for k, v in root[0].items() if k != "device_name"}]
    others = [m for m in volumes if m not in root]
    if others:
        attributes["ebs_block_device"] = others
    return attributes


def _linked(value: Any, others: Mapping[str, Translated], terraform: str) -> Translated | None:
    """The template resource of type `terraform` whose logical id `value` is."""
    found = others.get(value) if isinstance(value, str) else None
    return found if found is not None and found.type == terraform else None


def inherit(key: str, terraform: str, *names: str) -> Link:
    """Attributes the resource takes from the one `key` refers to when it does not set them (a read replica's
    engine and storage from its source; an Aurora instance's engine from its cluster)."""

    def link(attributes: Attributes, others: Mapping[str, Translated]) -> Attributes:
        found = _linked(attributes.get(key), others, terraform)
        given = found.attributes if found is not None else {}
        missing = [name for name in names if attributes.get(name) is None and given.get(name) is not None]
        return {**attributes, **{name: given[name] for name in missing}}

    return link


def links(*steps: Link) -> Link:
    def link(attributes: Attributes, others: Mapping[str, Translated]) -> Attributes:
        for step in steps:
            attributes = step(attributes, others)
        return attributes

    return link


def in_cluster(terraform: str) -> Variant:
    """An instance of an Aurora cluster is its own Terraform type, priced differently from a standalone one."""
    return lambda attributes: terraform if attributes.get("cluster_identifier") else None


# --- the type table ------------------------------------------------------------------------------------------

EBS: dict[str, Spec] = {
    "VolumeSize": To("volume_size", number),
    "VolumeType": "volume_type",
    "Iops": To("iops", number),
    "Throughput": To("throughput", number),
    "Encrypted": To("encrypted", boolean),
}
DEVICES: dict[str, Spec] = {
    "DeviceName": "device_name",
    "VirtualName": "virtual_name",
    "NoDevice": To("no_device", bool),
    "Ebs": Spread(EBS),
}
TEMPLATE_DEVICES: dict[str, Spec] = {
    "DeviceName": "device_name",
    "VirtualName": "virtual_name",
    "Ebs": Nested("ebs", EBS),
}
THROUGHPUT: dict[str, Spec] = {
    "ReadCapacityUnits": To("read_capacity", number),
    "WriteCapacityUnits": To("write_capacity", number),
}
SCALING: dict[str, Spec] = {"MinCapacity": To("min_capacity", number), "MaxCapacity": To("max_capacity", number)}
LAUNCH_TEMPLATE_DATA: dict[str, Spec] = {
    "InstanceType": "instance_type",
    "EbsOptimized": To("ebs_optimized", boolean),
    "Monitoring": Nested("monitoring", {"Enabled": To("enabled", boolean)}),
    "CreditSpecification": Nested("credit_specification", {"CpuCredits": "cpu_credits"}),
    "BlockDeviceMappings": Nested("block_device_mappings", TEMPLATE_DEVICES, many=True),
    "InstanceMarketOptions": Nested("instance_market_options", {"MarketType": "market_type"}),
}

FREE: dict[str, str] = {
    "AWS::EC2::VPC": "aws_vpc",
    "AWS::EC2::Subnet": "aws_subnet",
    "AWS::EC2::SecurityGroup": "aws_security_group",
    "AWS::EC2::SecurityGroupIngress": "aws_security_group_rule",
    "AWS::EC2::SecurityGroupEgress": "aws_security_group_rule",
    "AWS::EC2::InternetGateway": "aws_internet_gateway",
    "AWS::EC2::EgressOnlyInternetGateway": "aws_egress_only_internet_gateway",
    "AWS::EC2::VPCGatewayAttachment": "aws_internet_gateway_attachment",
    "AWS::EC2::RouteTable": "aws_route_table",
    "AWS::EC2::Route": "aws_route",
    "AWS::EC2::SubnetRouteTableAssociation": "aws_route_table_association",
    "AWS::EC2::NetworkAcl": "aws_network_acl",
    "AWS::EC2::NetworkAclEntry": "aws_network_acl_rule",
    "AWS::EC2::SubnetNetworkAclAssociation": "aws_network_acl_association",
    "AWS::EC2::EIPAssociation": "aws_eip_association",
    "AWS::EC2::KeyPair": "aws_key_pair",
    "AWS::EC2::VolumeAttachment": "aws_volume_attachment",
    "AWS::EC2::NetworkInterface": "aws_network_interface",
    "AWS::EC2::PlacementGroup": "aws_placement_group",
    "AWS::IAM::Role": "aws_iam_role",
    "AWS::IAM::Policy": "aws_iam_policy",
    "AWS::IAM::ManagedPolicy": "aws_iam_policy",
    "AWS::IAM::RolePolicy": "aws_iam_role_policy",
    "AWS::IAM::InstanceProfile": "aws_iam_instance_profile",
    "AWS::IAM::User": "aws_iam_user",
    "AWS::IAM::Group": "aws_iam_group",
    "AWS::Lambda::Permission": "aws_lambda_permission",
    "AWS::Lambda::EventSourceMapping": "aws_lambda_event_source_mapping",
    "AWS::Lambda::Alias": "aws_lambda_alias",
    "AWS::ElasticLoadBalancingV2::Listener": "aws_lb_listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule": "aws_lb_listener_rule",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "aws_lb_target_group",
    "AWS::AutoScaling::ScalingPolicy": "aws_autoscaling_policy",
    "AWS::AutoScaling::LifecycleHook": "aws_autoscaling_lifecycle_hook",
    "AWS::ECS::Cluster": "aws_ecs_cluster",
    "AWS::RDS::DBSubnetGroup": "aws_db_subnet_group",
    "AWS::RDS::DBParameterGroup": "aws_db_parameter_group",
    "AWS::RDS::DBClusterParameterGroup": "aws_rds_cluster_parameter_group",
    "AWS::RDS::OptionGroup": "aws_db_option_group",
    "AWS::S3::BucketPolicy": "aws_s3_bucket_policy",
    "AWS::SNS::Subscription": "aws_sns_topic_subscription",
    "AWS::SNS::TopicPolicy": "aws_sns_topic_policy",
    "AWS::SQS::QueuePolicy": "aws_sqs_queue_policy",
    "AWS::EFS::MountTarget": "aws_efs_mount_target",
    "AWS::EFS::AccessPoint": "aws_efs_access_point",
    "AWS::Logs::SubscriptionFilter": "aws_cloudwatch_log_subscription_filter",
    "AWS::Logs::MetricFilter": "aws_cloudwatch_log_metric_filter",
    "AWS::ElastiCache::SubnetGroup": "aws_elasticache_subnet_group",
    "AWS::ElastiCache::ParameterGroup": "aws_elasticache_parameter_group",
    "AWS::ApiGateway::Resource": "aws_api_gateway_resource",
    "AWS::ApiGateway::Method": "aws_api_gateway_method",
    "AWS::ApiGateway::Model": "aws_api_gateway_model",
    "AWS::ApiGateway::Deployment": "aws_api_gateway_deployment",
    "AWS::ApiGateway::Authorizer": "aws_api_gateway_authorizer",
    "AWS::CloudFront::OriginAccessControl": "aws_cloudfront_origin_access_control",
    "AWS::CloudFront::CloudFrontOriginAccessIdentity": "aws_cloudfront_origin_access_identity",
    "AWS::Cognito::UserPoolClient": "aws_cognito_user_pool_client",
    "AWS::Cognito::UserPoolDomain": "aws_cognito_user_pool_domain",
    "AWS::DMS::ReplicationSubnetGroup": "aws_dms_replication_subnet_group",
    "AWS::DMS::Endpoint": "aws_dms_endpoint",
    "AWS::DMS::ReplicationTask": "aws_dms_replication_task",
}

# One entry per priced CloudFormation type: its Terraform type, and its properties as the attributes the price
# rules read (see outlay/iac/rules/); types the rules do not price yet are mapped too, so that they are listed
# under their Terraform names.
TYPES: dict[str, CfnType] = {
    "AWS::EC2::Instance": CfnType("aws_instance", {
        "InstanceType": "instance_type",
        "Monitoring": To("monitoring", boolean),
        "EbsOptimized": To("ebs_optimized", boolean),
        "Tenancy": "tenancy",
        "AvailabilityZone": "availability_zone",
        "BlockDeviceMappings": Nested("block_device_mappings", DEVICES, many=True),
        "CreditSpecification": Nested("credit_specification", {"CPUCredits": "cpu_credits"}),
    }, finish=split_block_devices),
    "AWS::EC2::Volume": CfnType("aws_ebs_volume", {
        "Size": To("size", number), "VolumeType": "type", "Iops": To("iops", number),
        "Throughput": To("throughput", number), "AvailabilityZone": "availability_zone",
    }),
    "AWS::EC2::EIP": CfnType("aws_eip", {"Domain": "domain"}),
    "AWS::EC2::NatGateway": CfnType("aws_nat_gateway", {"ConnectivityType": "connectivity_type"}),
    "AWS::EC2::VPCEndpoint": CfnType("aws_vpc_endpoint", {
        "VpcEndpointType": "vpc_endpoint_type", "ServiceName": "service_name", "SubnetIds": "subnet_ids",
    }),
    "AWS::EC2::LaunchTemplate": CfnType("aws_launch_template", {
        "LaunchTemplateName": "name", "LaunchTemplateData": Spread(LAUNCH_TEMPLATE_DATA),
    }),
    "AWS::AutoScaling::LaunchConfiguration": CfnType("aws_launch_configuration", {
        "InstanceType": "instance_type",
        "InstanceMonitoring": To("enable_monitoring", boolean),
        "EbsOptimized": To("ebs_optimized", boolean),
        "SpotPrice": "spot_price",
        "BlockDeviceMappings": Nested("block_device_mappings", DEVICES, many=True),
    }, finish=split_block_devices),
    "AWS::AutoScaling::AutoScalingGroup": CfnType("aws_autoscaling_group", {
        "DesiredCapacity": To("desired_capacity", number),
        "MinSize": To("min_size", number),
        "MaxSize": To("max_size", number),
        "LaunchConfigurationName": "launch_configuration",
        "LaunchTemplate": Nested("launch_template", {"LaunchTemplateId": "id", "LaunchTemplateName": "name"}),
    }),
    "AWS::RDS::DBInstance": CfnType("aws_db_instance", {
        "DBInstanceClass": "instance_class",
        "Engine": To("engine", lower),
        "EngineVersion": "engine_version",
        "LicenseModel": "license_model",
        "AllocatedStorage": To("allocated_storage", number),
        "StorageType": "storage_type",
        "Iops": To("iops", number),
        "StorageThroughput": To("storage_throughput", number),
        "MultiAZ": To("multi_az", boolean),
        "BackupRetentionPeriod": To("backup_retention_period", number),
        "EnablePerformanceInsights": To("performance_insights_enabled", boolean),
        "PerformanceInsightsRetentionPeriod": To("performance_insights_retention_period", number),
        "SourceDBInstanceIdentifier": "replicate_source_db",
        "DBClusterIdentifier": "cluster_identifier",
    }, variant=in_cluster("aws_rds_cluster_instance"),
       link=links(inherit("replicate_source_db", "aws_db_instance", "engine", "engine_version", "license_model",
                          "allocated_storage", "storage_type", "iops"),
                  inherit("cluster_identifier", "aws_rds_cluster", "engine", "engine_version"))),
    "AWS::RDS::DBCluster": CfnType("aws_rds_cluster", {
        "Engine": To("engine", lower),
        "EngineVersion": "engine_version",
        "EngineMode": "engine_mode",
        "DBClusterInstanceClass": "db_cluster_instance_class",
        "AllocatedStorage": To("allocated_storage", number),
        "StorageType": "storage_type",
        "Iops": To("iops", number),
        "BackupRetentionPeriod": To("backup_retention_period", number),
        "ScalingConfiguration": Nested("scaling_configuration", SCALING),
        "ServerlessV2ScalingConfiguration": Nested("serverlessv2_scaling_configuration", SCALING),
    }),
    "AWS::Lambda::Function": CfnType("aws_lambda_function", {
        "MemorySize": To("memory_size", number),
        "Architectures": "architectures",
        "Runtime": "runtime",
        "EphemeralStorage": Nested("ephemeral_storage", {"Size": To("size", number)}),
    }),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": CfnType("aws_lb", {
        "Type": "load_balancer_type", "Scheme": To("internal", lambda scheme: scheme == "internal"),
    }, finish=lambda attributes: {"load_balancer_type": "application", **attributes}),  # Terraform's default
    "AWS::ElasticLoadBalancing::LoadBalancer": CfnType("aws_elb", {
        "Scheme": To("internal", lambda scheme: scheme == "internal"),
    }),
    "AWS::DynamoDB::Table": CfnType("aws_dynamodb_table", {
        "BillingMode": "billing_mode",
        "TableClass": "table_class",
        "ProvisionedThroughput": Spread(THROUGHPUT),
        "GlobalSecondaryIndexes": Nested("global_secondary_index", {
            "IndexName": "name", "ProvisionedThroughput": Spread(THROUGHPUT),
        }, many=True),
        "StreamSpecification": Spread({"StreamViewType": "stream_view_type"}),
        "PointInTimeRecoverySpecification": Nested("point_in_time_recovery", {
            "PointInTimeRecoveryEnabled": To("enabled", boolean),
        }),
    }, finish=lambda attributes: {"billing_mode": "PROVISIONED", **attributes,
                                  "stream_enabled": "stream_view_type" in attributes}),
    "AWS::ECS::TaskDefinition": CfnType("aws_ecs_task_definition", {
        "Cpu": "cpu",
        "Memory": "memory",
        "RequiresCompatibilities": "requires_compatibilities",
        "RuntimePlatform": Nested("runtime_platform", {
            "CpuArchitecture": "cpu_architecture", "OperatingSystemFamily": "operating_system_family",
        }),
        "EphemeralStorage": Nested("ephemeral_storage", {"SizeInGiB": To("size_in_gib", number)}),
    }),
    "AWS::ECS::Service": CfnType("aws_ecs_service", {
        "LaunchType": "launch_type",
        "DesiredCount": To("desired_count", number),
        "TaskDefinition": "task_definition",
        "CapacityProviderStrategy": Nested("capacity_provider_strategy", {
            "CapacityProvider": "capacity_provider", "Weight": To("weight", number), "Base": To("base", number),
        }, many=True),
    }),
    "AWS::EKS::Cluster": CfnType("aws_eks_cluster", {"Version": "version"}),
    "AWS::EKS::Nodegroup": CfnType("aws_eks_node_group", {
        "InstanceTypes": "instance_types",
        "CapacityType": "capacity_type",
        "AmiType": "ami_type",
        "DiskSize": To("disk_size", number),
        "ScalingConfig": Nested("scaling_config", {
            "DesiredSize": To("desired_size", number), "MinSize": To("min_size", number),
            "MaxSize": To("max_size", number),
        }),
        "LaunchTemplate": Nested("launch_template", {"Id": "id", "Name": "name"}),
    }),
    "AWS::EKS::FargateProfile": CfnType("aws_eks_fargate_profile"),
    "AWS::EFS::FileSystem": CfnType("aws_efs_file_system", {
        "PerformanceMode": "performance_mode",
        "ThroughputMode": "throughput_mode",
        "ProvisionedThroughputInMibps": To("provisioned_throughput_in_mibps", number),
        "AvailabilityZoneName": "availability_zone_name",
        "LifecyclePolicies": Nested("lifecycle_policy", {
            "TransitionToIA": "transition_to_ia", "TransitionToArchive": "transition_to_archive",
            "TransitionToPrimaryStorageClass": "transition_to_primary_storage_class",
        }, many=True),
    }),
    "AWS::S3::Bucket": CfnType("aws_s3_bucket"),
    "AWS::SQS::Queue": CfnType("aws_sqs_queue", {"FifoQueue": To("fifo_queue", boolean)}),
    "AWS::SNS::Topic": CfnType("aws_sns_topic", {"FifoTopic": To("fifo_topic", boolean)}),
    "AWS::ElastiCache::CacheCluster": CfnType("aws_elasticache_cluster", {
        "CacheNodeType": "node_type",
        "Engine": To("engine", lower),
        "NumCacheNodes": To("num_cache_nodes", number),
        "SnapshotRetentionLimit": To("snapshot_retention_limit", number),
    }),
    "AWS::ElastiCache::ReplicationGroup": CfnType("aws_elasticache_replication_group", {
        "CacheNodeType": "node_type",
        "Engine": To("engine", lower),
        "NumCacheClusters": To("num_cache_clusters", number),
        "NumNodeGroups": To("num_node_groups", number),
        "ReplicasPerNodeGroup": To("replicas_per_node_group", number),
        "SnapshotRetentionLimit": To("snapshot_retention_limit", number),
    }),
    "AWS::Kinesis::Stream": CfnType("aws_kinesis_stream", {
        "ShardCount": To("shard_count", number),
        "RetentionPeriodHours": To("retention_period", number),
        "StreamModeDetails": Nested("stream_mode_details", {"StreamMode": "stream_mode"}),
    }),
    "AWS::Logs::LogGroup": CfnType("aws_cloudwatch_log_group", {"RetentionInDays": To("retention_in_days", number)}),
    "AWS::CloudWatch::Alarm": CfnType("aws_cloudwatch_metric_alarm", {
        "MetricName": "metric_name", "Period": To("period", number),
        "Metrics": Nested("metric_query", {"Id": "id"}, many=True),
    }),
    "AWS::Route53::HostedZone": CfnType("aws_route53_zone"),
    "AWS::Route53::RecordSet": CfnType("aws_route53_record"),
    "AWS::Route53::HealthCheck": CfnType("aws_route53_health_check"),
    "AWS::CloudFront::Distribution": CfnType("aws_cloudfront_distribution", {
        "DistributionConfig": Spread({"PriceClass": "price_class", "Enabled": To("enabled", boolean)}),
    }),
    "AWS::Redshift::Cluster": CfnType("aws_redshift_cluster", {
        "NodeType": "node_type", "NumberOfNodes": To("number_of_nodes", number), "ClusterType": "cluster_type",
    }),
    "AWS::SecretsManager::Secret": CfnType("aws_secretsmanager_secret"),
    "AWS::KMS::Key": CfnType("aws_kms_key"),
    "AWS::ApiGateway::RestApi": CfnType("aws_api_gateway_rest_api"),
    "AWS::ApiGateway::Stage": CfnType("aws_api_gateway_stage"),
    "AWS::ApiGatewayV2::Api": CfnType("aws_apigatewayv2_api", {"ProtocolType": "protocol_type"}),
    "AWS::Events::Rule": CfnType("aws_cloudwatch_event_rule"),
    "AWS::WAFv2::WebACL": CfnType("aws_wafv2_web_acl"),
    "AWS::Cognito::UserPool": CfnType("aws_cognito_user_pool"),
    "AWS::DMS::ReplicationInstance": CfnType("aws_dms_replication_instance", {
        "ReplicationInstanceClass": "replication_instance_class",
        "AllocatedStorage": To("allocated_storage", number),
        "MultiAZ": To("multi_az", boolean),
    }),
    **{kind: CfnType(terraform) for kind, terraform in FREE.items()},
}  # fmt: skip


# --- translating ---------------------------------------------------------------------------------------------

Report = Callable[[str, Unknown], None]


def _leaf(value: Any, path: str, convert: Callable[[Any], Any], report: Report) -> Any:
    found = _first_unknown(value)
    if found:
        report(path, found)
        return None
    return convert(value)


def _blocks(spec: Nested, value: Any, path: str, report: Report) -> list[Attributes]:
    items = value if spec.many and isinstance(value, list) else [value]
    blocks = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]" if spec.many else path
        if isinstance(item, Unknown):
            report(where, item)
        elif isinstance(item, Mapping):
            blocks.append(translate(spec.keys, item, where + ".", report))
    return blocks


def translate(keys: Mapping[str, Spec], properties: Mapping[str, Any], where: str, report: Report) -> Attributes:
    """The Terraform attributes `keys` make of `properties`; an unknown value the keys read is reported by its
    property path and left None."""
    out: Attributes = {}
    for name, spec in keys.items():
        if name not in properties:
            continue
        value, path = properties[name], where + name
        if isinstance(spec, str | To):
            to = To(spec) if isinstance(spec, str) else spec
            out[to.attribute] = _leaf(value, path, to.convert, report)
        elif isinstance(value, Unknown):
            report(path, value)
        elif isinstance(spec, Spread) and isinstance(value, Mapping):
            out.update(translate(spec.keys, value, path + ".", report))
        elif isinstance(spec, Nested):
            out[spec.attribute] = _blocks(spec, value, path, report)
    return out


def tags_of(value: Any) -> dict[str, str]:
    """`Tags` as a list of Key/Value pairs, or (some types) a mapping; tags still unknown are left out."""
    pairs = value.items() if isinstance(value, Mapping) else []
    if isinstance(value, list):
        pairs = [(t.get("Key"), t.get("Value")) for t in value if isinstance(t, Mapping)]
    return {str(k): _text(v) for k, v in pairs if k is not None and v is not None and not _first_unknown(v)}


def _resource(
    logical_id: str, declaration: Mapping[str, Any], template: _Template, problems: list[Problem]
) -> Translated:
    kind = str(declaration.get("Type"))
    properties = template.resolve(declaration.get("Properties") or {})
    if not isinstance(properties, Mapping):
        problems.append(Problem(logical_id, "Properties: expected a mapping; the resource is read without them"))
        properties = {}
    tags = tags_of(properties.get("Tags"))
    spec = TYPES.get(kind)
    if spec is None:
        return Translated(kind, {"tags": tags} if tags else {}, tags)  # listed as unsupported, under its own name

    def report(path: str, unknown: Unknown) -> None:
        problems.append(Problem(logical_id, f"{path}: {unknown.reason}"))

    attributes = translate(spec.properties, properties, "", report)
    if spec.finish:
        attributes = spec.finish(attributes)
    terraform = (spec.variant(attributes) if spec.variant else None) or spec.terraform
    if tags:
        attributes["tags"] = tags
    return Translated(terraform, attributes, tags)


def _included(logical_id: str, declaration: Mapping[str, Any], template: _Template, problems: list[Problem]) -> bool:
    name = declaration.get("Condition")
    if name is None:
        return True
    value = template.condition(name)
    if isinstance(value, Unknown):
        # Counted rather than left out: an estimate should not be low because a condition could not be read.
        problems.append(Problem(logical_id, f"Condition {name}: {value.reason}; counted as if true"))
        return True
    return value


def template_resources(
    path: Path, region: str, parameters: Mapping[str, str] | None = None
) -> tuple[list[Resource], list[Problem]]:
    """The template's resources (those whose condition holds), as the price rules read them, and the problems
    met: values that stay unknown until the stack exists, parameters the template does not declare."""
    location = Path(path)
    document = load_template(location)
    for section in ("Resources", "Parameters", "Mappings", "Conditions"):
        if document.get(section) is not None and not isinstance(document.get(section), Mapping):
            raise InputError(f"{location}: {section} must be a mapping of names to declarations")
    template = _Template(document, region, parameters or {})
    problems = [
        Problem(str(location), f"parameter {name} is not declared by the template") for name in template.undeclared
    ]
    translated: dict[str, Translated] = {}
    for logical_id, declaration in template.resources.items():
        if not isinstance(declaration, Mapping) or "Type" not in declaration:
            problems.append(Problem(str(logical_id), "no Type: not a resource declaration"))
            continue
        if _included(str(logical_id), declaration, template, problems):
            translated[str(logical_id)] = _resource(str(logical_id), declaration, template, problems)
    for logical_id, found in translated.items():
        spec = TYPES.get(str(template.resources[logical_id]["Type"]))
        if spec is not None and spec.link is not None:
            found.attributes = spec.link(found.attributes, translated)
    resources = [Resource(logical_id, found.type, found.attributes, region, tags=found.tags)
                 for logical_id, found in translated.items()]  # fmt: skip
    return resources, problems
