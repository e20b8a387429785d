"""CloudWatch log groups: logs ingested, archived and scanned by Logs Insights queries, all from usage.

Prices: aws.amazon.com/cloudwatch/pricing (Logs, standard log class), in `unit_prices.csv`.
"""

from __future__ import annotations

from outlay.iac.rules.spec import Component, Free, ResourceRule, UsageKey, unit_price, usage

RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_cloudwatch_log_group",
        [
            Component(
                "Data ingested",
                "GB",
                usage("monthly_data_ingested_gb"),
                unit_price("cloudwatch_logs", "ingested_gb"),
                usage_based=True,
            ),
            Component(
                "Archival Storage",
                "GB",
                usage("storage_gb"),
                unit_price("cloudwatch_logs", "stored_gb"),
                usage_based=True,
            ),
            Component(
                "Insights queries data scanned",
                "GB",
                usage("monthly_data_scanned_gb"),
                unit_price("cloudwatch_logs", "insights_scanned_gb"),
                usage_based=True,
            ),
        ],  # fmt: skip
        usage=[
            UsageKey("monthly_data_ingested_gb", "GB of logs sent to the group a month"),
            UsageKey("storage_gb", "GB of logs the group keeps (compressed)"),
            UsageKey("monthly_data_scanned_gb", "GB scanned by Logs Insights queries a month"),
        ],
    ),
    Free("aws_cloudwatch_log_stream"),
    Free("aws_cloudwatch_log_resource_policy"),
    Free("aws_cloudwatch_log_subscription_filter", "priced where the logs go"),
]
