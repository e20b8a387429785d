"""Elastic Load Balancing: Application, Network and Gateway Load Balancers (`aws_lb`, `aws_alb`) and Classic Load
Balancers (`aws_elb`); listeners, target groups and their attachments cost nothing of their own.

A load balancer is billed by the hour, and by the capacity units it uses an hour: the largest of what its new
connections, active connections, processed bytes and (ALB) rule evaluations need, each dimension's unit as AWS's
pricing page defines it. A Classic Load Balancer is billed by the GB instead.
Prices: `unit_prices.csv` (elb), from aws.amazon.com/elasticloadbalancing/pricing.
"""

from __future__ import annotations

from decimal import Decimal

from outlay.iac.rules.spec import (
    HOURS,
    Component,
    Free,
    ResourceRule,
    Scope,
    UsageKey,
    unit_price,
    usage,
)
from outlay.pricing.catalogue import HOURS_PER_MONTH

DEFAULT_TYPE = "application"
NAMES = {"application": "Application", "network": "Network", "gateway": "Gateway"}
LCU_PRICES = {"application": "application_lcu", "network": "network_nlcu", "gateway": "gateway_glcu"}
# What one capacity unit holds, per type: new connections a second, active connections a minute, GB processed an
# hour, rule evaluations a second (beyond the 10 free per request; ALB only). Network: its TCP figures.
LCU = {
    "application": {"new_connections": 25, "active_connections": 3000, "gb_hour": 1, "rule_evaluations": 1000},
    "network": {"new_connections": 800, "active_connections": 100_000, "gb_hour": 1},
    "gateway": {"new_connections": 600, "active_connections": 60_000, "gb_hour": 1},
}
LB_USAGE = [
    UsageKey("new_connections", "new connections a second, on average"),
    UsageKey("active_connections", "active connections a minute, on average"),
    UsageKey("processed_bytes_gb", "GB a month the load balancer processes"),
    UsageKey("rule_evaluations", "listener rule evaluations a second beyond the 10 free per request (ALB)"),
]


def lb_type(scope: Scope) -> str:
    return str(scope.attr("load_balancer_type", DEFAULT_TYPE))


def lb_label(scope: Scope) -> str:
    return f"{NAMES.get(lb_type(scope), lb_type(scope).title())} load balancer"


def hour_price(scope: Scope) -> Decimal:
    return unit_price("elb", f"{lb_type(scope)}_hour")(scope)


def lcu_price(scope: Scope) -> Decimal:
    return unit_price("elb", LCU_PRICES.get(lb_type(scope), f"{lb_type(scope)}_lcu"))(scope)


def lcu_hours(scope: Scope) -> Decimal | None:
    """Capacity unit-hours a month: the busiest dimension's units, every hour; unknown until usage is given."""
    per_unit = LCU.get(lb_type(scope), LCU["application"])
    gb = scope.used("processed_bytes_gb")
    demands = {
        "new_connections": scope.used("new_connections"),
        "active_connections": scope.used("active_connections"),
        "gb_hour": None if gb is None else gb / HOURS_PER_MONTH,
        "rule_evaluations": scope.used("rule_evaluations"),
    }
    units = [amount / per_unit[key] for key, amount in demands.items() if amount is not None and key in per_unit]
    return max(units) * HOURS_PER_MONTH if units else None


RULES: list[ResourceRule | Free] = [
    *(
        ResourceRule(
            name,
            [
                Component(lb_label, "hours", HOURS, hour_price),
                Component("Load balancer capacity units", "LCU-hours", lcu_hours, lcu_price, usage_based=True),
            ],
            usage=LB_USAGE,
        )
        for name in ("aws_lb", "aws_alb")
    ),
    ResourceRule(
        "aws_elb",
        [
            Component("Classic load balancer", "hours", HOURS, unit_price("elb", "classic_hour")),
            Component(
                "Data processed",
                "GB",
                usage("monthly_data_processed_gb"),
                unit_price("elb", "classic_gb"),
                usage_based=True,
            ),
        ],
        usage=[UsageKey("monthly_data_processed_gb", "GB a month the load balancer processes")],
    ),  # fmt: skip
    Free("aws_lb_listener"),
    Free("aws_lb_listener_rule"),
    Free("aws_lb_listener_certificate"),
    Free("aws_lb_target_group"),
    Free("aws_lb_target_group_attachment"),
    Free("aws_alb_listener"),
    Free("aws_alb_listener_rule"),
    Free("aws_alb_target_group"),
    Free("aws_alb_target_group_attachment"),
    Free("aws_elb_attachment"),
    Free("aws_load_balancer_policy"),
    Free("aws_lb_cookie_stickiness_policy"),
]
