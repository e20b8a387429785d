"""Where resources come from: a Terraform plan (JSON), a Terraform directory (HCL), or a CloudFormation template
(YAML or JSON). `read` tells them apart by what the path is and holds."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from outlay.iac.resources import InputError, Problem, Resource


@dataclass(frozen=True)
class Input:
    resources: list[Resource]
    problems: list[Problem] = field(default_factory=list)
    kind: str = ""  # "terraform plan" | "terraform directory" | "cloudformation"


def read(
    path: Path | str, region: str | None = None, parameters: Mapping[str, str] | None = None, *, prior: bool = False
) -> Input:
    """The resources at `path`. `region` is used where the input does not say (and is CloudFormation's
    AWS::Region); `prior` reads a plan's state before the change instead of after it."""
    location = Path(path)
    if location.is_dir():
        from outlay.iac.sources.terraform_hcl import directory_resources

        resources, problems = directory_resources(location, default_region=region)
        return Input(resources, problems, "terraform directory")
    if not location.is_file():
        raise InputError(f"{location}: no such file or directory")
    if location.suffix.lower() in (".yaml", ".yml", ".template"):
        return _template(location, region, parameters)
    try:
        document = json.loads(location.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{location}: not JSON ({exc}); give a plan from `terraform show -json`, a Terraform "
                         "directory or a CloudFormation template") from None  # fmt: skip
    from outlay.iac.sources import terraform_plan

    if terraform_plan.is_plan(document):
        which: terraform_plan.Which = "prior" if prior else "planned"
        return Input(terraform_plan.plan_resources(document, which, region), [], "terraform plan")
    return _template(location, region, parameters)


def _template(location: Path, region: str | None, parameters: Mapping[str, str] | None) -> Input:
    from outlay.iac.sources.cloudformation import template_resources

    if region is None:
        raise InputError(f"{location}: a CloudFormation template does not say its region: pass --region")
    resources, problems = template_resources(location, region, parameters)
    return Input(resources, problems, "cloudformation")
