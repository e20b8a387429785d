"""FOCUS names (ServiceName / ServiceCategory) the live sources emit, matching what FOCUS exports carry."""

from __future__ import annotations

EC2 = "Amazon Elastic Compute Cloud"
RDS = "Amazon Relational Database Service"
S3 = "Amazon Simple Storage Service"
LAMBDA = "AWS Lambda"
VPC = "Amazon Virtual Private Cloud"
CLOUDFRONT = "Amazon CloudFront"
ELB = "Elastic Load Balancing"
CLOUDWATCH = "AmazonCloudWatch"

COMPUTE = "Compute"
STORAGE = "Storage"
DATABASES = "Databases"
NETWORKING = "Networking"
MANAGEMENT = "Management and Governance"
