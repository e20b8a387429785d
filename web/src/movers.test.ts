import { describe, expect, it } from "vitest";
import type { CostsResponse } from "./api";
import { groupTotals, monthBounds, periodSeries, rangeBounds, topMovers } from "./shape";

const n = (units: number) => BigInt(units) * 1_000_000_000n;
const bounds = monthBounds(new Date("2026-11-30T15:00:00Z"));

function byService(rows: [string, string, string, string, string | null][]): CostsResponse {
  return {
    granularity: "day",
    start: "2026-11-01T00:00:00Z",
    end: "2026-12-01T00:00:00Z",
    metric: "billed",
    group_by: ["service", "currency", "cost_kind"],
    currency: null,
    cost_kind: null,
    rows: rows.map(([day, currency, kind, cost, service]) => ({
      period_start: `${day}T00:00:00Z`,
      group: { currency, cost_kind: kind, service },
      cost,
    })),
    total: null,
    totals: [],
  };
}

describe("rangeBounds", () => {
  it("this month to date against last month's same first days", () => {
    expect(rangeBounds("month", bounds)).toEqual({
      current: { start: "2026-11-01", end: "2026-12-01" },
      previous: { start: "2026-10-01", end: "2026-10-31" },
      label: "2026-11-01 – 2026-11-30",
    });
    // 31 March: last month (February) has fewer days, so the previous period stops at its end.
    const march = rangeBounds("month", monthBounds(new Date("2027-03-31T10:00:00Z")));
    expect(march?.previous).toEqual({ start: "2027-02-01", end: "2027-03-01" });
  });
  it("the last 30 and 90 days, today included, against as many days before", () => {
    expect(rangeBounds("30d", bounds)).toMatchObject({
      current: { start: "2026-11-01", end: "2026-12-01" },
      previous: { start: "2026-10-02", end: "2026-11-01" },
    });
    const r = rangeBounds("90d", bounds);
    expect(r?.current).toEqual({ start: "2026-09-02", end: "2026-12-01" });
    expect(r?.previous).toEqual({ start: "2026-06-04", end: "2026-09-02" });
  });
  it("a custom range, its end included and cut at today; invalid ranges give null", () => {
    expect(rangeBounds("custom", bounds, { start: "2026-11-10", end: "2026-11-19" })).toEqual({
      current: { start: "2026-11-10", end: "2026-11-20" },
      previous: { start: "2026-10-31", end: "2026-11-10" },
      label: "2026-11-10 – 2026-11-19",
    });
    expect(rangeBounds("custom", bounds, { start: "2026-11-20", end: "2027-01-01" })?.current.end).toBe("2026-12-01");
    expect(rangeBounds("custom", bounds, { start: "2026-11-20", end: "2026-11-10" })).toBeNull();
    expect(rangeBounds("custom", bounds, { start: "", end: "2026-11-10" })).toBeNull();
    expect(rangeBounds("custom", bounds, { start: "2026-12-05", end: "2026-12-06" })).toBeNull();
    expect(rangeBounds("custom", bounds)).toBeNull();
  });
});

describe("groupTotals", () => {
  it("sums each service's days in one currency, a day's bill over its estimate", () => {
    const totals = groupTotals(
      byService([
        ["2026-11-01", "USD", "billed", "10", "EC2"],
        ["2026-11-01", "USD", "estimated", "9", "EC2"], // billed later: not counted twice
        ["2026-11-02", "USD", "estimated", "4.5", "EC2"],
        ["2026-11-02", "USD", "billed", "3", "S3"],
        ["2026-11-02", "EUR", "billed", "100", "S3"],
        ["2026-11-03", "USD", "billed", "1", null],
      ]),
      "USD",
      "service",
    );
    expect(totals).toEqual(new Map([["EC2", n(10) + 4_500_000_000n], ["S3", n(3)], ["(none)", n(1)]]));
  });
});

describe("topMovers", () => {
  it("orders by the size of the change, either way, and gives the percent", () => {
    const movers = topMovers(new Map([["EC2", n(150)], ["S3", n(20)], ["RDS", n(50)]]), new Map([["EC2", n(100)], ["S3", n(80)], ["RDS", n(50)]]));
    expect(movers.map((m) => [m.name, m.change, m.percent, m.status])).toEqual([
      ["S3", -n(60), -75, "changed"],
      ["EC2", n(50), 50, "changed"],
    ]); // RDS did not move
  });
  it("breaks ties by name", () => {
    const movers = topMovers(new Map([["b", n(10)], ["a", n(0)], ["c", n(10)]]), new Map([["a", n(10)]]));
    expect(movers.map((m) => m.name)).toEqual(["a", "b", "c"]);
  });
  it("names new services (no percent from a zero base) and services that disappeared", () => {
    const movers = topMovers(new Map([["Lambda", n(5)], ["Zero", n(2)]]), new Map([["Glue", n(8)], ["Zero", 0n]]));
    expect(movers).toEqual([
      { name: "Glue", current: 0n, previous: n(8), change: -n(8), percent: -100, status: "gone" },
      { name: "Lambda", current: n(5), previous: 0n, change: n(5), percent: null, status: "new" },
      { name: "Zero", current: n(2), previous: 0n, change: n(2), percent: null, status: "new" },
    ]);
  });
  it("keeps the largest `limit` and gives nothing for nothing", () => {
    const many = new Map(Array.from({ length: 15 }, (_, i) => [`s${String(i).padStart(2, "0")}`, n(i + 1)]));
    const movers = topMovers(many, new Map(), 3);
    expect(movers.map((m) => m.name)).toEqual(["s14", "s13", "s12"]);
    expect(topMovers(new Map(), new Map())).toEqual([]);
  });
});

describe("periodSeries", () => {
  it("one point per day of the period, zero where there is no cost", () => {
    const s = periodSeries(new Map([["2026-11-02", n(3)]]), { start: "2026-11-01", end: "2026-11-04" });
    expect(s).toEqual({ x: [1, 2, 3], values: [0, 3, 0], days: ["2026-11-01", "2026-11-02", "2026-11-03"] });
  });
});
