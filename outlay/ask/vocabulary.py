"""What a tenant's costs can be asked about: the values of each dimension and tag key the store holds, the business
figures it has posted and the dimensions its allocation rules define (loaded by an adapter, passed in here), and
the common names people use for AWS services and regions.

A service is stored under whatever its source wrote: FOCUS exports and the live sources write the product name
("Amazon Elastic Compute Cloud"), CUR the product name or, without one, the product code ("AmazonEC2"); some
exports split a service ("Amazon Elastic Compute Cloud - Compute", "EC2 - Other"). An alias such as "EC2" names
all of them, and resolves to those the tenant actually has, so a filter never names a value that is not stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# alias (lower case) -> how services with that name are stored (any case; only those the tenant has are used)
SERVICE_ALIASES: dict[str, tuple[str, ...]] = {}
_SERVICES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("ec2", "elastic compute cloud", "compute cloud", "instances", "virtual machines", "vms"),
     ("Amazon Elastic Compute Cloud", "Amazon Elastic Compute Cloud - Compute", "AmazonEC2", "EC2 - Other",
      "Amazon EC2")),
    (("s3", "simple storage service", "object storage"), ("Amazon Simple Storage Service", "AmazonS3", "Amazon S3")),
    (("rds", "relational database service", "relational databases"),
     ("Amazon Relational Database Service", "AmazonRDS", "Amazon RDS")),
    (("lambda", "aws lambda", "serverless functions"), ("AWS Lambda", "AWSLambda")),
    (("cloudfront", "cdn"), ("Amazon CloudFront", "AmazonCloudFront")),
    (("vpc", "virtual private cloud", "nat gateway", "nat gateways"),
     ("Amazon Virtual Private Cloud", "AmazonVPC")),
    (("elb", "load balancing", "load balancers", "load balancer", "alb", "nlb"),
     ("Elastic Load Balancing", "AWSELB", "AmazonELB")),
    (("cloudwatch", "monitoring"), ("AmazonCloudWatch", "Amazon CloudWatch")),
    (("dynamodb", "dynamo"), ("Amazon DynamoDB", "AmazonDynamoDB")),
    (("eks", "kubernetes", "elastic kubernetes service"),
     ("Amazon Elastic Kubernetes Service", "AmazonEKS", "Amazon EKS")),
    (("ecs", "elastic container service"), ("Amazon Elastic Container Service", "AmazonECS")),
    (("fargate",), ("AWS Fargate", "AWSFargate")),
    (("ecr", "container registry"), ("Amazon EC2 Container Registry (ECR)", "Amazon Elastic Container Registry",
                                     "AmazonECR")),
    (("elasticache", "redis", "memcached"), ("Amazon ElastiCache", "AmazonElastiCache")),
    (("redshift",), ("Amazon Redshift", "AmazonRedshift")),
    (("sqs", "queues", "simple queue service"), ("Amazon Simple Queue Service", "AWSQueueService")),
    (("sns", "simple notification service"), ("Amazon Simple Notification Service", "AmazonSNS")),
    (("kinesis",), ("Amazon Kinesis", "AmazonKinesis")),
    (("efs", "elastic file system"), ("Amazon Elastic File System", "AmazonEFS")),
    (("route 53", "route53", "dns"), ("Amazon Route 53", "AmazonRoute53")),
    (("api gateway", "apigateway"), ("Amazon API Gateway", "AmazonApiGateway")),
    (("glacier",), ("Amazon Glacier", "Amazon S3 Glacier", "AmazonGlacier")),
    (("athena",), ("Amazon Athena", "AmazonAthena")),
    (("emr", "elastic mapreduce"), ("Amazon Elastic MapReduce", "ElasticMapReduce")),
    (("sagemaker",), ("Amazon SageMaker", "AmazonSageMaker")),
    (("opensearch", "elasticsearch"), ("Amazon OpenSearch Service", "AmazonES")),
    (("kms", "key management service"), ("AWS Key Management Service", "awskms")),
    (("data transfer", "bandwidth", "egress"), ("AWS Data Transfer", "AWSDataTransfer")),
    (("support",), ("AWS Support (Business)", "AWS Support (Developer)", "AWS Support (Enterprise)",
                    "AWSSupportBusiness", "AWSSupportEnterprise", "AWSDeveloperSupport")),
)  # fmt: skip
for _aliases, _stored in _SERVICES:
    for _alias in _aliases:
        SERVICE_ALIASES[_alias] = _stored

# Region nicknames (lower case) -> region code.
REGION_ALIASES: dict[str, str] = {
    "n. virginia": "us-east-1", "north virginia": "us-east-1", "northern virginia": "us-east-1",
    "virginia": "us-east-1", "ohio": "us-east-2", "n. california": "us-west-1", "california": "us-west-1",
    "oregon": "us-west-2", "ireland": "eu-west-1", "london": "eu-west-2", "paris": "eu-west-3",
    "frankfurt": "eu-central-1", "stockholm": "eu-north-1", "milan": "eu-south-1", "tokyo": "ap-northeast-1",
    "seoul": "ap-northeast-2", "osaka": "ap-northeast-3", "singapore": "ap-southeast-1",
    "sydney": "ap-southeast-2", "mumbai": "ap-south-1", "sao paulo": "sa-east-1", "canada": "ca-central-1",
}  # fmt: skip

# Words people use for a tag key (lower case) -> the tag keys they may mean, most likely first.
TAG_KEY_WORDS: dict[str, tuple[str, ...]] = {
    "team": ("team", "Team", "owner_team"),
    "teams": ("team", "Team", "owner_team"),
    "project": ("project", "Project"),
    "projects": ("project", "Project"),
    "env": ("env", "environment", "Environment", "stage"),
    "envs": ("env", "environment", "Environment", "stage"),
    "environment": ("environment", "env", "Environment", "stage"),
    "environments": ("environment", "env", "Environment", "stage"),
    "stage": ("stage", "env", "environment"),
    "customer": ("customer", "Customer", "tenant"),
    "customers": ("customer", "Customer", "tenant"),
    "client": ("customer", "client"),
    "clients": ("customer", "client"),
    "feature": ("feature", "Feature"),
    "features": ("feature", "Feature"),
    "owner": ("owner", "Owner"),
    "owners": ("owner", "Owner"),
    "application": ("application", "app", "Application"),
    "applications": ("application", "app", "Application"),
    "app": ("app", "application"),
    "apps": ("app", "application"),
    "cost center": ("cost_center", "costcenter", "CostCenter", "cost-center"),
    "cost centre": ("cost_center", "costcenter", "CostCenter", "cost-center"),
}
# Value words people use for an environment -> the values they may mean (only stored ones are used).
ENV_VALUE_ALIASES: dict[str, tuple[str, ...]] = {
    "production": ("prod", "production", "prd"),
    "prod": ("prod", "production", "prd"),
    "staging": ("staging", "stage", "stg"),
    "development": ("dev", "development"),
    "dev": ("dev", "development"),
}


# Words people use for business figures (lower case) -> the names a tenant may have posted them under, most likely
# first. A word here that names no posted figure is refused naming it, rather than read as something else.
METRIC_WORDS: dict[str, tuple[str, ...]] = {
    "request": ("requests",), "requests": ("requests",), "api request": ("requests",),
    "api requests": ("requests",), "api call": ("api_calls", "requests"), "api calls": ("api_calls", "requests"),
    "order": ("orders",), "orders": ("orders",), "revenue": ("revenue",), "sales": ("revenue", "sales"),
    "user": ("users",), "users": ("users",), "active user": ("active_users", "users"),
    "active users": ("active_users", "users"), "transaction": ("transactions",), "transactions": ("transactions",),
    "visit": ("visits",), "visits": ("visits",), "session": ("sessions",), "sessions": ("sessions",),
    "signup": ("signups",), "signups": ("signups",), "booking": ("bookings",), "bookings": ("bookings",),
    "payment": ("payments",), "payments": ("payments",), "subscriber": ("subscribers",),
    "subscribers": ("subscribers",), "page view": ("page_views", "pageviews"),
    "page views": ("page_views", "pageviews"), "pageviews": ("pageviews", "page_views"),
    "search": ("searches",), "searches": ("searches",), "message": ("messages",), "messages": ("messages",),
    "event": ("events",), "events": ("events",), "job": ("jobs",), "jobs": ("jobs",),
}  # fmt: skip


@dataclass(frozen=True)
class Vocabulary:
    """The tenant's values: per dimension (service, region, accounts, ...) and per tag key; the business figures it
    has posted (name -> customer / feature -> values); the dimensions its current allocation rules define."""

    dimensions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    metrics: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    allocation: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        dimensions: Mapping[str, list[str]],
        tags: Mapping[str, list[str]],
        metrics: Mapping[str, Mapping[str, list[str]]] | None = None,
        allocation: list[str] | tuple[str, ...] = (),
    ) -> Vocabulary:
        """From the store's listing (`GET /v1/costs/dimensions`' shape), the posted figures and the rules' dimensions."""
        return cls(
            dimensions={k: tuple(v) for k, v in dimensions.items()},
            tags={k: tuple(v) for k, v in tags.items()},
            metrics={name: {d: tuple(v) for d, v in by.items()} for name, by in (metrics or {}).items()},
            allocation=tuple(allocation),
        )

    def metric_for(self, word: str) -> str | None:
        """The posted business figure a word names ("requests", "request", "orders"), or None."""
        lowered = word.lower()
        candidates = (lowered, *METRIC_WORDS.get(lowered, ()), lowered + "s", lowered.replace(" ", "_"))
        return next((name for name in candidates if name in self.metrics), None)

    def metric_values(self, dimension: str) -> tuple[str, ...]:
        """Every customer (or feature) some posted figure names."""
        found = {v for by in self.metrics.values() for v in by.get(dimension, ())}
        return tuple(sorted(found))

    def allocation_dimension_for(self, word: str) -> str | None:
        """The allocation rules' dimension a word names ("teams" -> "team"), or None."""
        lowered = word.lower()
        for candidate in (lowered, lowered[:-1] if lowered.endswith("s") else lowered):
            if candidate in self.allocation:
                return candidate
        return None

    def values(self, dimension: str) -> tuple[str, ...]:
        if dimension.startswith("tag:"):
            return self.tags.get(dimension[4:], ())
        return self.dimensions.get(dimension, ())

    def knows(self, dimension: str, value: str) -> bool:
        return value in self.values(dimension)

    def services_for(self, alias: str) -> tuple[str, ...]:
        """The tenant's stored services an alias names (case-insensitive), in stored order."""
        wanted = {name.lower() for name in SERVICE_ALIASES.get(alias.lower(), ())}
        return tuple(s for s in self.values("service") if s.lower() in wanted)

    def tag_key_for(self, word: str) -> str | None:
        """The tenant's tag key a word names ("teams" -> "team"), or None."""
        candidates = TAG_KEY_WORDS.get(word.lower(), ())
        exact = [k for k in self.tags if k.lower() == word.lower()]
        for key in (*exact, *candidates):
            if key in self.tags:
                return key
        return None

    def where(self, value: str) -> list[str]:
        """Every dimension (or tag:KEY) holding `value` (case-insensitive), for values named without a key."""
        lowered = value.lower()
        found = [d for d, values in self.dimensions.items() if any(v.lower() == lowered for v in values)]
        found.extend(f"tag:{k}" for k, values in self.tags.items() if any(v.lower() == lowered for v in values))
        return found

    def stored(self, dimension: str, value: str) -> str | None:
        """The stored spelling of `value` in `dimension` (case-insensitive), or None."""
        lowered = value.lower()
        return next((v for v in self.values(dimension) if v.lower() == lowered), None)

    def business_summary(self, limit: int = 50) -> dict[str, object]:
        """The posted figures and the allocation rules' dimensions, bounded (for an LLM's prompt)."""
        metrics = {name: {d: list(v[:limit]) for d, v in by.items()} for name, by in list(self.metrics.items())[:limit]}
        return {"business_metrics": metrics, "allocation_dimensions": list(self.allocation)}

    def summary(self, limit: int = 50) -> dict[str, list[str]]:
        """A bounded listing (for an LLM's prompt): at most `limit` values of each dimension and tag key."""
        out = {name: list(values[:limit]) for name, values in self.dimensions.items() if values}
        out.update({f"tag:{key}": list(values[:limit]) for key, values in list(self.tags.items())[:limit]})
        return out
