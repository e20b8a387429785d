import { describe, expect, it } from "vitest";
import type { CostForecast, CostsResponse } from "./api";
import {
  chartSeries,
  dailyCosts,
  formatChange,
  formatMoney,
  mainCurrency,
  monthBounds,
  monthEndForecast,
  monthSummary,
  percentChange,
  toNanos,
} from "./shape";
import { anomalyBars, describeSeries } from "./anomalyShape";

function costs(rows: [string, string, string, string][]): CostsResponse {
  return {
    granularity: "day",
    start: "2026-10-01T00:00:00Z",
    end: "2026-12-01T00:00:00Z",
    metric: "billed",
    group_by: ["currency", "cost_kind"],
    currency: null,
    cost_kind: null,
    rows: rows.map(([day, currency, kind, cost]) => ({
      period_start: `${day}T00:00:00Z`,
      group: { currency, cost_kind: kind },
      cost,
    })),
    total: null,
    totals: [],
  };
}

const bounds = monthBounds(new Date("2026-11-30T15:00:00Z"));

describe("money", () => {
  it("parses exact decimal strings into nano-units", () => {
    expect(toNanos("12.500000000")).toBe(12_500_000_000n);
    expect(toNanos("-3.1")).toBe(-3_100_000_000n);
    expect(toNanos("0.000000001")).toBe(1n);
    expect(toNanos("7")).toBe(7_000_000_000n);
  });
  it("formats in the currency", () => {
    expect(formatMoney("1234.5", "USD")).toBe("$1,234.50");
    expect(formatMoney("2", "not-a-code")).toBe("2.00 not-a-code");
  });
});

describe("monthBounds", () => {
  it("gives last month, this month and next month's first days in UTC", () => {
    expect(bounds).toEqual({ lastStart: "2026-10-01", thisStart: "2026-11-01", nextStart: "2026-12-01", today: "2026-11-30" });
    expect(monthBounds(new Date("2027-01-15T00:00:00Z")).lastStart).toBe("2026-12-01");
  });
});

describe("dailyCosts", () => {
  const answer = costs([
    ["2026-11-01", "USD", "billed", "10.000000000"],
    ["2026-11-01", "USD", "estimated", "9.000000000"], // billed wins
    ["2026-11-02", "USD", "estimated", "4.500000000"], // no bill yet: the estimate
    ["2026-11-02", "EUR", "billed", "100.000000000"], // another currency
  ]);
  it("takes the bill where a day has one, else the estimate, in one currency", () => {
    expect([...dailyCosts(answer, "USD")]).toEqual([
      ["2026-11-01", 10_000_000_000n],
      ["2026-11-02", 4_500_000_000n],
    ]);
  });
  it("picks the answer's currency, else the largest", () => {
    expect(mainCurrency({ ...answer, currency: "USD" })).toBe("USD");
    const mixed = { ...answer, totals: [
      { currency: "USD", cost_kind: "billed", cost: "10" },
      { currency: "EUR", cost_kind: "billed", cost: "100" },
    ] };
    expect(mainCurrency(mixed)).toBe("EUR");
    expect(mainCurrency({ ...answer, totals: [] })).toBeNull();
  });
});

describe("monthSummary", () => {
  const days = new Map<string, bigint>([
    ["2026-10-01", 5_000_000_000n],
    ["2026-10-30", 1_000_000_000n],
    ["2026-10-31", 2_000_000_000n],
    ["2026-11-01", 6_000_000_000n],
    ["2026-11-30", 3_000_000_000n],
  ]);
  it("compares this month to date with the same days of last month", () => {
    expect(monthSummary(days, bounds)).toEqual({
      thisMonthToDate: 9_000_000_000n,
      lastMonthToSameDay: 6_000_000_000n, // Oct 1–30
      lastMonthTotal: 8_000_000_000n,
      change: 50,
    });
  });
  it("never counts past the end of a shorter last month", () => {
    const march = monthBounds(new Date("2027-03-31T12:00:00Z"));
    const feb = new Map<string, bigint>([["2027-02-28", 1_000_000_000n], ["2027-03-01", 1_000_000_000n]]);
    expect(monthSummary(feb, march).lastMonthToSameDay).toBe(1_000_000_000n);
  });
});

describe("changes", () => {
  it("is null with nothing to compare with", () => {
    expect(percentChange(5n, 0n)).toBeNull();
    expect(percentChange(5n, 10n)).toBe(-50);
    expect(formatChange(null)).toBe("n/a");
    expect(formatChange(12.34)).toBe("+12.3%");
    expect(formatChange(-4)).toBe("−4.0%");
  });
});

describe("chartSeries", () => {
  const forecast = {
    scope: "total",
    currency: "USD",
    days: [{ day: "2026-11-30", expected: "2.5", lower80: "2", upper80: "3", lower95: "1", upper95: "4" }],
  } as CostForecast;
  it("aligns this month, last month and the forecast by day of month", () => {
    const days = new Map<string, bigint>([["2026-10-31", 2_000_000_000n], ["2026-11-02", 1_500_000_000n]]);
    const series = chartSeries(days, bounds, forecast);
    expect(series.dayOfMonth).toHaveLength(31);
    expect(series.thisMonth.slice(0, 3)).toEqual([0, 1.5, 0]);
    expect(series.thisMonth[30]).toBeNull(); // November has 30 days
    expect(series.lastMonth[30]).toBe(2);
    expect(series.forecast[29]).toBe(2.5);
    expect(series.forecast[0]).toBeNull();
  });
  it("leaves the days after today empty", () => {
    const mid = monthBounds(new Date("2026-11-10T00:00:00Z"));
    const series = chartSeries(new Map(), mid);
    expect(series.thisMonth[9]).toBe(0);
    expect(series.thisMonth[10]).toBeNull();
  });
  it("finds the total forecast in the currency only", () => {
    expect(monthEndForecast([forecast], "USD")).toBe(forecast);
    expect(monthEndForecast([forecast], "EUR")).toBeNull();
  });
});

describe("anomaly shaping", () => {
  it("names the series by its dimensions, service first", () => {
    expect(describeSeries({ series: "s", dimensions: { region: "us-east-1", service: "AmazonEC2" } })).toBe(
      "AmazonEC2 · us-east-1",
    );
    expect(describeSeries({ series: "minute|total", dimensions: {} })).toBe("minute|total");
  });
  it("scales expected and actual on one bar", () => {
    expect(anomalyBars({ expected_cost: "50", actual_cost: "100" })).toEqual({
      expectedPercent: 50,
      actualPercent: 100,
      changePercent: 100,
    });
    expect(anomalyBars({ expected_cost: "0", actual_cost: "0" }).changePercent).toBeNull();
  });
});
