"""FOCUS ServiceCategory for AWS product codes, so CUR rows group like FOCUS rows do.

CUR has no service category column. This table covers the services that carry most spend; anything
else is "Other" (a valid FOCUS 1.0 category) rather than a guess. Values are FOCUS 1.0 categories.
"""

from __future__ import annotations

_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "Compute": (
        "AmazonEC2",
        "AWSLambda",
        "AmazonECS",
        "AmazonEKS",
        "AWSFargate",
        "AmazonLightsail",
        "AWSBatch",
        "AmazonAppStream",
        "AmazonWorkSpaces",
        "AWSOutposts",
        "ElasticMapReduce",
        "AWSAppRunner",
    ),
    "Storage": (
        "AmazonS3",
        "AmazonEFS",
        "AmazonFSx",
        "AmazonS3GlacierDeepArchive",
        "AmazonGlacier",
        "AWSBackup",
        "AWSStorageGateway",
        "AmazonECR",
        "AmazonECRPublic",
    ),
    "Databases": (
        "AmazonRDS",
        "AmazonDynamoDB",
        "AmazonElastiCache",
        "AmazonRedshift",
        "AmazonDocDB",
        "AmazonNeptune",
        "AmazonMemoryDB",
        "AmazonKeyspaces",
        "AmazonTimestream",
        "AmazonDAX",
    ),
    "Networking": (
        "AmazonVPC",
        "AWSELB",
        "AmazonCloudFront",
        "AmazonRoute53",
        "AWSDataTransfer",
        "AWSDirectConnect",
        "AmazonApiGateway",
        "AWSGlobalAccelerator",
        "AWSTransitGateway",
        "AWSPrivateLink",
    ),
    "Integration": ("AWSQueueService", "AmazonSNS", "AmazonMQ", "AWSEvents", "AmazonSWF", "AWSStepFunctions"),
    "Analytics": (
        "AmazonAthena",
        "AWSGlue",
        "AmazonKinesis",
        "AmazonKinesisFirehose",
        "AmazonKinesisAnalytics",
        "AmazonES",
        "AmazonOpenSearchService",
        "AmazonQuickSight",
        "AmazonMSK",
        "AWSLakeFormation",
    ),
    "AI and Machine Learning": (
        "AmazonSageMaker",
        "AmazonRekognition",
        "AmazonComprehend",
        "AmazonPolly",
        "AmazonTranscribe",
        "AmazonTranslate",
        "AmazonLex",
        "AmazonBedrock",
        "AmazonTextract",
    ),
    "Management and Governance": (
        "AmazonCloudWatch",
        "AWSCloudTrail",
        "AWSConfig",
        "AWSSystemsManager",
        "AWSCloudFormation",
        "AWSServiceCatalog",
        "AWSCostExplorer",
        "AWSOrganizations",
        "AWSXRay",
        "AWSBudgets",
    ),
    "Security": (
        "AWSSecretsManager",
        "awskms",
        "AmazonGuardDuty",
        "AWSShield",
        "awswaf",
        "AmazonInspector",
        "AWSSecurityHub",
        "AmazonMacie",
        "AWSCertificateManager",
        "AmazonDetective",
    ),
    "Identity": ("AmazonCognito", "AWSDirectoryService", "AWSIAM", "AWSSSO"),
    "Developer Tools": ("AWSCodeCommit", "AWSCodeBuild", "AWSCodePipeline", "AWSCodeDeploy", "AWSCodeArtifact"),
    "Web": ("AWSAmplify", "AmazonSES"),
    "Internet of Things": ("AWSIoT", "AWSGreengrass"),
    "Migration": ("AWSDatabaseMigrationSvc", "AWSTransfer", "AWSDataSync", "AWSMigrationHub"),
}

SERVICE_CATEGORY: dict[str, str] = {code: category for category, codes in _BY_CATEGORY.items() for code in codes}


def service_category(product_code: str | None) -> str | None:
    """The FOCUS category of an AWS product code; None when the row names no product."""
    if not product_code:
        return None
    return SERVICE_CATEGORY.get(product_code, "Other")
