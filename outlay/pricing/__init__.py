"""The bundled offline AWS price catalogue (EC2, RDS, EBS). See README.md here for sources and licenses."""

from outlay.pricing.catalogue import (
    HOURS_PER_MONTH,
    Ec2InstanceType,
    Price,
    PriceCatalogue,
    UnknownPrice,
    normalise_rds_engine,
)

__all__ = ["HOURS_PER_MONTH", "Ec2InstanceType", "Price", "PriceCatalogue", "UnknownPrice", "normalise_rds_engine"]
