"""Every price rule, one module per AWS service; `RULEBOOK` is the one registry the estimator reads."""

from __future__ import annotations

from outlay.iac.rules import (
    autoscaling,
    awslambda,
    cloudfront,
    cloudwatch,
    containers,
    data_transfer,
    dynamodb,
    ec2,
    efs,
    elasticache,
    load_balancers,
    messaging,
    networking,
    rds,
    redshift,
    route53,
    s3,
    scaling,
)
from outlay.iac.rules.spec import RuleBook

RULEBOOK = RuleBook()
for module in (ec2, autoscaling, rds, elasticache, redshift, awslambda, s3, dynamodb, messaging, cloudwatch, route53,
               cloudfront, data_transfer, networking, load_balancers, containers, efs, scaling):  # fmt: skip
    RULEBOOK.add(*module.RULES)
