"""Infrastructure as code, priced: what a Terraform plan, a Terraform directory or a CloudFormation template will
cost each month, before it is applied.

The data's way: `sources/` read a plan or template into `resources.Resource`s (one per priced address, with its
attributes, module path and region); `usage` reads the usage file for usage-based costs; `rules/` hold one
declarative entry per AWS resource type and cost component, priced from the shared catalogue (`outlay.pricing`);
`estimate` applies them into a `report.Estimate`; `render` writes it as a table, JSON, Markdown or HTML.
Everything here is plain Python over parsed data, without I/O, except the sources' file reading.
"""
