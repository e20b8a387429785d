"""The demo company the generator plays by default: a ~$200K/year SaaS on AWS, priced from the catalogue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from outlay.pricing import HOURS_PER_MONTH, PriceCatalogue
from services.ingest.live import names
from services.ingest.live.generator import CompanyProfile, ServiceSpec

PAYER = "100000000001"
PROD = "200000000002"
STAGING = "300000000003"
DATA = "400000000004"
INSTANCE = "i-{hex}"


def demo_company(seed: int = 7, catalogue: PriceCatalogue | None = None) -> CompanyProfile:
    cat = catalogue or PriceCatalogue.load()

    def ec2(
        name: str,
        instance_type: str,
        count: int,
        account: str,
        team: str,
        project: str,
        env: str,
        **kw: Any,
    ) -> ServiceSpec:
        price = cat.ec2_hourly(instance_type)
        return ServiceSpec(
            name=name,
            service=names.EC2,
            service_category=names.COMPUTE,
            usage_type=f"BoxUsage:{instance_type}",
            unit="Hrs",
            unit_price=price,
            base_usd_hr=price * count,
            account=account,
            team=team,
            project=project,
            env=env,
            resource_template=INSTANCE,
            **kw,
        )

    def rds(name: str, instance_class: str, account: str, team: str, env: str, **kw: Any) -> ServiceSpec:
        price = cat.rds_hourly(instance_class, "postgres", "us-east-1")
        return ServiceSpec(
            name=name,
            service=names.RDS,
            service_category=names.DATABASES,
            usage_type=f"InstanceUsage:{instance_class}",
            unit="Hrs",
            unit_price=price,
            base_usd_hr=price,
            account=account,
            team=team,
            project="orders",
            env=env,
            resource_template="arn:aws:rds:{region}:{account}:db:{name}-{index}",
            diurnal=0.0,
            weekend=0.0,
            noise=0.002,
            **kw,
        )

    def per_gb(gb: int, usd_gb_month: Decimal) -> Decimal:
        return (usd_gb_month * gb / HOURS_PER_MONTH).quantize(Decimal("1e-9"))

    def flat(name: str, service: str, category: str, usage_type: str, unit: str, **kw: Any) -> ServiceSpec:
        return ServiceSpec(
            name=name, service=service, service_category=category, usage_type=usage_type, unit=unit, **kw
        )

    gp3 = cat.ebs_gb_month("gp3")
    s3_gb = Decimal("0.023")  # S3 Standard, first 50 TB, us-east-1
    two = ("us-east-1", "eu-west-1")
    services = (
        ec2(
            "web",
            "m5.large",
            10,
            PROD,
            "web",
            "storefront",
            "prod",
            regions=two,
            resources=2,
            diurnal=0.35,
            weekend=0.25,
        ),
        ec2(
            "api",
            "c5.xlarge",
            6,
            PROD,
            "api",
            "platform",
            "prod",
            regions=two,
            resources=2,
            diurnal=0.3,
            weekend=0.2,
        ),
        ec2(
            "batch",
            "r5.2xlarge",
            4,
            PROD,
            "data",
            "pipeline",
            "prod",
            resources=2,
            diurnal=0.6,
            peak_hour=2.0,
            weekend=0.0,
            noise=0.06,
        ),
        rds("orders-db", "db.r5.xlarge", PROD, "api", "prod", resources=2),
        flat(
            "ebs",
            names.EC2,
            names.STORAGE,
            "EBS:VolumeUsage.gp3",
            "GB-Mo",
            unit_price=gp3,
            base_usd_hr=per_gb(20_000, gp3),
            account=PROD,
            team="platform",
            project="platform",
            env="prod",
            regions=two,
            resource_template="vol-{hex}",
            diurnal=0.0,
            weekend=0.0,
            noise=0.001,
            growth_per_30d=0.03,
            deploys=False,
        ),
        flat(
            "assets",
            names.S3,
            names.STORAGE,
            "TimedStorage-ByteHrs",
            "GB-Mo",
            unit_price=s3_gb,
            base_usd_hr=per_gb(50_000, s3_gb),
            account=PROD,
            team="web",
            project="storefront",
            env="prod",
            resource_template="acme-assets-{index}",
            diurnal=0.0,
            weekend=0.0,
            noise=0.001,
            growth_per_30d=0.04,
            deploys=False,
        ),
        flat(
            "functions",
            names.LAMBDA,
            names.COMPUTE,
            "Lambda-GB-Second",
            "GB-Seconds",
            unit_price=Decimal("0.0000166667"),
            base_usd_hr=Decimal("0.80"),
            account=PROD,
            team="api",
            project="platform",
            env="prod",
            regions=two,
            resource_template="arn:aws:lambda:{region}:{account}:function:{name}-{index}",
            diurnal=0.5,
            weekend=0.3,
            noise=0.08,
        ),
        flat(
            "nat",
            names.VPC,
            names.NETWORKING,
            "NatGateway-Bytes",
            "GB",
            unit_price=Decimal("0.045"),
            base_usd_hr=Decimal("1.20"),
            account=PROD,
            team="platform",
            project="platform",
            env="prod",
            regions=two,
            resource_template="nat-{hex}",
            diurnal=0.4,
            weekend=0.25,
            noise=0.06,
        ),
        flat(
            "cdn",
            names.CLOUDFRONT,
            names.NETWORKING,
            "DataTransfer-Out-Bytes",
            "GB",
            unit_price=Decimal("0.085"),
            base_usd_hr=Decimal("0.90"),
            account=PROD,
            team="web",
            project="storefront",
            env="prod",
            resource_template="E{hex}",
            diurnal=0.45,
            weekend=0.3,
        ),
        flat(
            "alb",
            names.ELB,
            names.NETWORKING,
            "LCUUsage",
            "LCU-Hrs",
            unit_price=Decimal("0.008"),
            base_usd_hr=Decimal("0.50"),
            account=PROD,
            team="web",
            project="storefront",
            env="prod",
            regions=two,
            resource_template="arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{name}/{hex}",
            diurnal=0.3,
            weekend=0.2,
        ),
        # Staging runs around the clock at a flat level: exactly what off-hours scheduling should find.
        ec2(
            "staging-web",
            "m5.large",
            3,
            STAGING,
            "web",
            "storefront",
            "staging",
            diurnal=0.0,
            weekend=0.0,
            noise=0.002,
        ),
        rds("staging-db", "db.t3.medium", STAGING, "api", "staging"),
        ec2("analytics", "r5.4xlarge", 2, DATA, "data", "analytics", "prod", diurnal=0.2, weekend=0.4),
        flat(
            "lake",
            names.S3,
            names.STORAGE,
            "TimedStorage-ByteHrs",
            "GB-Mo",
            unit_price=s3_gb,
            base_usd_hr=per_gb(200_000, s3_gb),
            account=DATA,
            team="data",
            project="analytics",
            env="prod",
            resource_template="acme-lake-{index}",
            diurnal=0.0,
            weekend=0.0,
            noise=0.001,
            growth_per_30d=0.05,
            deploys=False,
        ),
    )
    return CompanyProfile(name="acme-saas", seed=seed, billing_account_id=PAYER, services=services)
