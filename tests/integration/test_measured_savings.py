"""Savings measured from the ledger: an applied plan's resources cost less a day after than before, from the bill
where a day has one and live estimates where it has none, through GET /v1/plans/{id}/measured and /v1/savings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from outlay.events import CostKind
from outlay.events.plan import ActionPlan, Kind, PlannedChange, PlanStatus, Risk
from outlay.settings import Settings
from outlay.store.engine import make_engine
from outlay.store.plans import PlanStore
from services.gateway.app import create_app
from services.gateway.measured_savings import measure
from tests.integration.gateway_fixtures import api_client, record, write_ledger

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
APPLIED = TODAY - timedelta(days=5)


def _plan(plan_id: str, resource: str, status: PlanStatus = PlanStatus.APPLIED) -> ActionPlan:
    change = PlannedChange(
        resource_id=resource, kind=Kind.RIGHTSIZE, summary="resize", monthly_saving=Decimal("50"), confidence=1,
        risk=Risk.LOW, current="m5.2xlarge", proposed="m5.large",
    )  # fmt: skip
    return ActionPlan(
        plan_id=plan_id, status=status, region="us-east-1", title="t", changes=[change], monthly_saving=Decimal(50),
        risk=Risk.LOW, requires_approval=True, created_at=APPLIED - timedelta(days=1), updated_at=APPLIED + timedelta(hours=3),
    )  # fmt: skip


def _day(resource: str, day: datetime, cost: str, kind: CostKind = CostKind.BILLED) -> object:
    end = day + timedelta(days=1)
    return record(f"{resource}-{day:%F}-{kind.value}", "AmazonEC2", day.isoformat(), end.isoformat(), cost,
                  kind=kind, resource=resource)  # fmt: skip


def test_measure_needs_days_after_and_cost_before() -> None:
    applied = date(2026, 11, 1)
    daily = {applied - timedelta(days=k): Decimal("9.60") for k in range(1, 8)}
    daily |= {applied + timedelta(days=k): Decimal("2.40") for k in range(1, 4)}
    m = measure("p", applied, applied + timedelta(days=4), daily)
    assert (m.days_before, m.days_after, m.daily_before, m.daily_after) == (7, 3, Decimal("9.60"), Decimal("2.40"))
    assert m.monthly == Decimal("219.00")  # 7.20 a day x 730 / 24
    early = measure("p", applied, applied + timedelta(days=2), daily)
    assert early.monthly is None and "1 whole days" in early.reason
    assert "no cost recorded" in measure("p", applied, applied + timedelta(days=9), {}).reason
    young = {d: c for d, c in daily.items() if d >= applied - timedelta(days=3)}  # the ledger began 3 days before
    assert measure("p", applied, applied + timedelta(days=9), young).reason == (
        "cost recorded on only 3 of the 7 days before it was applied"
    )


async def test_applied_plans_are_measured_from_bills_and_estimates(store_url: str) -> None:
    engine = make_engine(store_url)
    lines = []
    for k in range(1, 8):  # a week before: 9.60 a day billed (plus an estimate of the same day, not added)
        day = APPLIED - timedelta(days=k)
        lines += [_day("i-big", day, "9.60"), _day("i-big", day, "9.00", CostKind.ESTIMATED)]
    for k in range(1, 5):  # after: 2.40 a day, the last days only estimated (no bill yet)
        day = APPLIED + timedelta(days=k)
        lines.append(_day("i-big", day, "2.40", CostKind.BILLED if k < 3 else CostKind.ESTIMATED))
    lines.append(_day("i-other", APPLIED - timedelta(days=2), "100"))  # not in the plan
    try:
        await write_ledger(engine, lines)  # type: ignore[arg-type]
        plans = PlanStore(engine)
        for plan in (_plan("p-big", "i-big"), _plan("p-new", "i-none"), _plan("p-open", "i-big", PlanStatus.PROPOSED)):
            await plans.propose([plan], "us-east-1", plan.updated_at)
    finally:
        await engine.dispose()
    app = create_app(Settings(DATABASE_URL=store_url))
    async with api_client(app) as http:
        big = (await http.get("/v1/plans/p-big/measured")).json()
        assert big["days_after"] == 4 and big["daily_before"] == "9.60" and big["daily_after"] == "2.40"
        assert big["measured_monthly"] == "219.00" and big["reason"] == ""
        none = (await http.get("/v1/plans/p-new/measured")).json()
        assert none["measured_monthly"] is None and "no cost recorded" in none["reason"]
        assert (await http.get("/v1/plans/p-open/measured")).status_code == 409
        assert (await http.get("/v1/plans/nope/measured")).status_code == 404
        savings = (await http.get("/v1/savings")).json()
        assert savings["measured_monthly"] == "219.00" and savings["measured_plans"] == 1
        assert savings["applied_plans"] == 3 - 1 and Decimal(savings["achieved_monthly"]) == 100
