import { describe, expect, it } from "vitest";
import type { CostsResponse } from "./api";
import {
  allocation,
  currenciesOf,
  detectSteps,
  efficiencyScore,
  environmentKey,
  groupingChoices,
  groupSeries,
  hourlyPoints,
  periodRange,
  reconciliationByService,
  UNSET,
  varianceState,
} from "./groups";

type Row = [day: string, value: string | null, kind: string, cost: string, currency?: string];
const answer = (key: string, rows: Row[]): Pick<CostsResponse, "rows"> => ({
  rows: rows.map(([day, value, kind, cost, currency = "USD"]) => ({
    period_start: `${day}T00:00:00Z`,
    group: { [key]: value, currency, cost_kind: kind },
    cost,
  })),
});

describe("groupSeries and allocation", () => {
  const costs = answer("tag:team", [
    ["2026-11-01", "web", "billed", "10"],
    ["2026-11-01", "web", "estimated", "9"], // billed that day: not added
    ["2026-11-02", "web", "estimated", "5"], // no bill yet: counted
    ["2026-11-01", "data", "billed", "15"],
    ["2026-11-01", null, "billed", "10"], // untagged
    ["2026-11-01", "data", "billed", "1000", "EUR"], // another currency: not added
  ]);
  it("takes each bucket's bill, else its estimate", () => {
    expect([...(groupSeries(costs, "tag:team", "USD").get("web") ?? [])]).toEqual([
      ["2026-11-01T00:00:00.000Z", 10_000_000_000n],
      ["2026-11-02T00:00:00.000Z", 5_000_000_000n],
    ]);
  });
  it("shares the total, largest first, the unset group named", () => {
    const { rows, total } = allocation(costs, "tag:team", "USD");
    expect(total).toBe(40_000_000_000n);
    expect(rows.map((r) => [r.value, r.cost, r.share])).toEqual([
      ["data", 15_000_000_000n, 37.5],
      ["web", 15_000_000_000n, 37.5],
      [UNSET, 10_000_000_000n, 25],
    ]);
  });
  it("orders currencies by size", () => {
    expect(currenciesOf(costs)).toEqual(["EUR", "USD"]);
  });
  it("gives no shares for no cost", () => {
    expect(allocation({ rows: [] }, "tag:team", "USD")).toEqual({ rows: [], total: 0n });
  });
});

describe("detectSteps", () => {
  const start = Date.parse("2026-11-20T00:00:00Z");
  // Four days of a working-hours rhythm (1.0 at night, 1.6 by day); from hour 48 everything costs 1.5 times as much.
  const series = (stepAt: number | null) =>
    Array.from({ length: 96 }, (_, i) => {
      const hour = i % 24;
      const base = hour >= 8 && hour < 18 ? 1.6 : 1.0;
      return { at: new Date(start + i * 3_600_000).toISOString(), cost: stepAt !== null && i >= stepAt ? base * 1.5 : base };
    });
  it("finds a lasting change of level at its hour, with its size per hour and per month", () => {
    const steps = detectSteps(series(48));
    expect(steps).toHaveLength(1);
    expect(steps[0]?.at).toBe("2026-11-22T00:00:00.000Z");
    // A day's mean: 14 hours at 1.0 and 10 at 1.6 = 1.25 an hour; then half as much again.
    expect(steps[0]?.before).toBeCloseTo(1.25);
    expect(steps[0]?.after).toBeCloseTo(1.875);
    expect(steps[0]?.monthly).toBeCloseTo(0.625 * 730);
  });
  it("does not take the daily rhythm for a step", () => {
    expect(detectSteps(series(null))).toEqual([]);
  });
  it("finds a drop too, and nothing in too short a series", () => {
    const down = series(null).map((p, i) => ({ ...p, cost: i >= 60 ? p.cost / 2 : p.cost }));
    expect(detectSteps(down).map((s) => [s.at, s.change < 0])).toEqual([["2026-11-22T12:00:00.000Z", true]]);
    expect(detectSteps(series(10).slice(0, 30))).toEqual([]);
  });
  // Two weeks and a day: nights 1.0, working hours 1.6, weekends (days 5, 6, 12, 13) at half.
  const weeks = (change: (i: number) => number) =>
    Array.from({ length: 360 }, (_, i) => {
      const day = Math.floor(i / 24);
      const hour = i % 24;
      const weekend = day % 7 === 5 || day % 7 === 6;
      const base = (hour >= 8 && hour < 18 ? 1.6 : 1.0) * (weekend ? 0.5 : 1);
      return { at: new Date(start + i * 3_600_000).toISOString(), cost: base * change(i) };
    });
  it("with two weeks of history, does not take a quiet weekend for a step", () => {
    expect(detectSteps(weeks(() => 1))).toEqual([]);
  });
  it("with two weeks of history, finds this week's step and not last week's again", () => {
    const thisWeek = detectSteps(weeks((i) => (i >= 250 ? 1.5 : 1)));
    expect(thisWeek.map((s) => [s.at, s.change > 0])).toEqual([[new Date(start + 250 * 3_600_000).toISOString(), true]]);
    expect((thisWeek[0]?.after ?? 0) / (thisWeek[0]?.before ?? 1)).toBeCloseTo(1.5); // against the same hours a week before
    // A step at hour 100 shows reversed at hour 268 in the difference from a week before: not a step.
    expect(detectSteps(weeks((i) => (i >= 100 ? 1.5 : 1)))).toEqual([]);
  });
  it("fills missing hours with zero", () => {
    const points = hourlyPoints(new Map([["2026-11-20T01:00:00.000Z", 2_000_000_000n]]), "2026-11-20T00:00:00Z", "2026-11-20T03:00:00Z");
    expect(points.map((p) => p.cost)).toEqual([0, 2, 0]);
  });
});

describe("efficiencyScore", () => {
  it("is 100 minus the recommended saving's share of the monthly spend", () => {
    expect(efficiencyScore("250", 1_000_000_000_000n)).toBe(75);
    expect(efficiencyScore("0", 1_000_000_000_000n)).toBe(100);
    expect(efficiencyScore("5000", 1_000_000_000_000n)).toBe(0);
    expect(efficiencyScore("10", 0n)).toBeNull();
  });
});

describe("reconciliationByService", () => {
  it("sums the days per service with the difference in percent of the estimate", () => {
    const rows = reconciliationByService(
      {
        rows: [
          { day: "d1", service: "EC2", currency: "USD", estimated: "100", billed: "110", difference: "10", difference_pct: "10" },
          { day: "d2", service: "EC2", currency: "USD", estimated: "100", billed: "90", difference: "-10", difference_pct: "-10" },
          { day: "d1", service: "S3", currency: "USD", estimated: "0", billed: "5", difference: "5", difference_pct: null },
          { day: "d1", service: "S3", currency: "EUR", estimated: "50", billed: "5", difference: "-45", difference_pct: "-90" },
        ],
      },
      "USD",
    );
    expect(rows).toEqual([
      { service: "EC2", estimated: 200_000_000_000n, billed: 200_000_000_000n, difference: 0n, differencePercent: 0 },
      { service: "S3", estimated: 0n, billed: 5_000_000_000n, difference: 5_000_000_000n, differencePercent: null },
    ]);
  });
});

describe("varianceState", () => {
  it("is over for a positive variance, under otherwise, unknown without a forecast", () => {
    expect(varianceState({ variance: "12.5" })).toBe("over");
    expect(varianceState({ variance: "-3" })).toBe("under");
    expect(varianceState({ variance: "0.000000000" })).toBe("under");
    expect(varianceState({ variance: null })).toBe("unknown");
  });
});

describe("periodRange", () => {
  const now = new Date("2026-11-30T17:00:00Z");
  it("gives first and exclusive last day, never past tomorrow", () => {
    expect(periodRange("this_month", now)).toEqual({ start: "2026-11-01", end: "2026-12-01" });
    expect(periodRange("this_month", new Date("2026-11-10T01:00:00Z"))).toEqual({ start: "2026-11-01", end: "2026-11-11" });
    expect(periodRange("last_month", now)).toEqual({ start: "2026-10-01", end: "2026-11-01" });
    expect(periodRange("last_30_days", now)).toEqual({ start: "2026-11-01", end: "2026-12-01" });
    expect(periodRange("last_month", new Date("2027-01-05T00:00:00Z"))).toEqual({ start: "2026-12-01", end: "2027-01-01" });
  });
});

describe("groupingChoices and environmentKey", () => {
  it("offers team, project and env first, then other tags and the dimensions present", () => {
    const choices = groupingChoices({ workload: ["a"], project: ["p"], env: ["prod"], team: ["web"] }, { service: ["EC2"], region: [] });
    expect(choices.map((c) => c.key)).toEqual(["tag:team", "tag:project", "tag:env", "tag:workload", "service"]);
    const withCategory = groupingChoices({ "costcategory:Business Unit": ["retail"], workload: ["a"], team: ["web"] }, {});
    expect(withCategory).toEqual([
      { key: "tag:team", label: "Tag team" },
      { key: "tag:costcategory:Business Unit", label: "Cost category Business Unit" },
      { key: "tag:workload", label: "Tag workload" },
    ]);
    expect(environmentKey({ environment: ["prod"] })).toBe("environment");
    expect(environmentKey({ team: ["web"] })).toBeNull();
  });
});
