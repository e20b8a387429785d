"""Queues and streams. SQS queues: requests from usage, each billed per 64 KB chunk, standard or FIFO. Kinesis
data streams: the stream (on-demand) or its shards (provisioned) by the hour, and from usage the data in, out,
fanned out and retained, at the rates of the stream's mode.

Prices: aws.amazon.com/sqs/pricing and aws.amazon.com/kinesis/data-streams/pricing, in `unit_prices.csv`.
"""

from __future__ import annotations

import math
from decimal import Decimal

from outlay.iac.rules.spec import (
    HOURS,
    Component,
    Condition,
    Free,
    ResourceRule,
    Scope,
    UsageKey,
    attribute,
    unit_price,
    usage,
)
from outlay.pricing.catalogue import HOURS_PER_MONTH

# --- SQS -------------------------------------------------------------------------------------------------------

SQS_CHUNK_KB = 64  # a request is billed per 64 KB of payload
MILLION = Decimal("0.000001")


def fifo(scope: Scope) -> bool:
    return bool(scope.attr("fifo_queue"))


def sqs_requests(scope: Scope) -> Decimal | None:
    """Millions of billed requests: each request counts once per 64 KB chunk it carries."""
    requests = scope.used("monthly_requests")
    if requests is None:
        return None
    size = scope.used("request_size_kb") or scope.used("request_size") or Decimal(SQS_CHUNK_KB)
    return requests * math.ceil(size / SQS_CHUNK_KB) * MILLION


def sqs_price(scope: Scope) -> Decimal:
    component = "fifo_requests_million" if fifo(scope) else "standard_requests_million"
    return scope.catalogue.unit_price("sqs", component, scope.region).amount


SQS_USAGE = [
    UsageKey("monthly_requests", "requests a month"),
    UsageKey("request_size_kb", "average request size in KB (billed per 64 KB chunk; default 64)"),
    UsageKey("request_size", "the same as request_size_kb (an older spelling)"),
]

# --- Kinesis ---------------------------------------------------------------------------------------------------

ON_DEMAND, PROVISIONED = "ON_DEMAND", "PROVISIONED"


def mode(scope: Scope) -> str:
    return str(scope.block("stream_mode_details").get("stream_mode") or PROVISIONED)


def in_mode(name: str) -> Condition:
    return lambda scope: mode(scope) == name


def kinesis(name: str, unit: str, key: str, price: str, stream_mode: str, scale: Decimal | int = 1) -> Component:
    """A usage-priced Kinesis component of one stream mode."""
    return Component(name, unit, usage(key, scale), unit_price("kinesis", price), when=in_mode(stream_mode),
                     usage_based=True)  # fmt: skip


KINESIS_USAGE = [
    UsageKey("monthly_on_demand_data_in_gb", "GB written a month (on-demand)"),
    UsageKey("monthly_on_demand_data_out_gb", "GB read a month, all consumers together (on-demand)"),
    UsageKey("monthly_on_demand_efo_data_out_gb", "GB read a month by enhanced fan-out consumers (on-demand)"),
    UsageKey("monthly_on_demand_extended_retention_gb", "GB kept beyond 24 hours up to 7 days (on-demand)"),
    UsageKey("monthly_on_demand_long_term_retention_gb", "GB kept beyond 7 days (on-demand)"),
    UsageKey("monthly_provisioned_put_units", "25 KB PUT payload units a month (provisioned)"),
    UsageKey("monthly_provisioned_extended_retention_gb", "GB kept beyond 24 hours up to 7 days (provisioned)"),
    UsageKey("monthly_provisioned_long_term_retention_gb", "GB kept beyond 7 days (provisioned)"),
    UsageKey("monthly_provisioned_long_term_retrieval_gb", "GB older than 7 days read a month (provisioned)"),
    UsageKey("monthly_provisioned_efo_data_out_gb", "GB read by enhanced fan-out consumers a month (provisioned)"),
    UsageKey("monthly_provisioned_efo_consumer_hours", "consumer-shard hours of enhanced fan-out (provisioned)"),
]

RULES: list[ResourceRule | Free] = [
    ResourceRule(
        "aws_sqs_queue",
        [Component("Requests", "1M requests", sqs_requests, sqs_price, usage_based=True)],
        usage=SQS_USAGE,
    ),
    Free("aws_sqs_queue_policy"),
    ResourceRule(
        "aws_kinesis_stream",
        [
            Component(
                ON_DEMAND, "hours", HOURS, unit_price("kinesis", "on_demand_stream_hour"), when=in_mode(ON_DEMAND)
            ),
            kinesis("Data ingested", "GB", "monthly_on_demand_data_in_gb", "on_demand_ingest_gb", ON_DEMAND),
            kinesis("Data retrieval", "GB", "monthly_on_demand_data_out_gb", "on_demand_retrieval_gb", ON_DEMAND),
            kinesis(
                "Enhanced Fan Out (EFO) Data retrieval",
                "GB",
                "monthly_on_demand_efo_data_out_gb",
                "on_demand_efo_retrieval_gb",
                ON_DEMAND,
            ),
            kinesis(
                "Extended retention (24H to 7D)",
                "GB",
                "monthly_on_demand_extended_retention_gb",
                "on_demand_extended_retention_gb",
                ON_DEMAND,
            ),
            kinesis(
                "Long term retention (7D+)",
                "GB",
                "monthly_on_demand_long_term_retention_gb",
                "long_term_retention_gb",
                ON_DEMAND,
            ),
            Component(
                PROVISIONED,
                "hours",
                attribute("shard_count", scale=HOURS_PER_MONTH),
                unit_price("kinesis", "shard_hour"),
                when=in_mode(PROVISIONED),
            ),
            kinesis(
                "Put request unit",
                "1M units",
                "monthly_provisioned_put_units",
                "put_units_million",
                PROVISIONED,
                MILLION,
            ),
            # AWS lists provisioned extended retention per shard-hour ($0.02); usage files give it in GB, and it
            # is applied to that amount as the peer does (a stream's retention_period is not always in the plan).
            kinesis(
                "Extended retention (24H to 7D)",
                "GB",
                "monthly_provisioned_extended_retention_gb",
                "extended_retention",
                PROVISIONED,
            ),
            kinesis(
                "Long term retention (7D+)",
                "GB",
                "monthly_provisioned_long_term_retention_gb",
                "long_term_retention_gb",
                PROVISIONED,
            ),
            kinesis(
                "Extended retention retrieval (7D+)",
                "GB",
                "monthly_provisioned_long_term_retrieval_gb",
                "long_term_retrieval_gb",
                PROVISIONED,
            ),
            kinesis(
                "Enhanced Fan Out (EFO) Data retrieval",
                "GB",
                "monthly_provisioned_efo_data_out_gb",
                "efo_retrieval_gb",
                PROVISIONED,
            ),
            kinesis(
                "Enhanced Fan Out (EFO)",
                "consumer-shard hour",
                "monthly_provisioned_efo_consumer_hours",
                "efo_consumer_shard_hour",
                PROVISIONED,
            ),
        ],  # fmt: skip
        usage=KINESIS_USAGE,
    ),
]
