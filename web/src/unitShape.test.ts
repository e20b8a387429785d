import { describe, expect, it } from "vitest";
import type { Correlation, UnitCostLine, UnitCosts } from "./api";
import { formatPercent, formatUnit, mainUnitCurrency, perText, scatterSeries, unitCostSeries, unitCsvRows, unitLineLabel } from "./unitShape";

type Period = [day: string, unit: string | null];
const line = (kind: UnitCostLine["kind"], group: string | null, cost: string, periods: Period[], anomalies: string[] = [], currency = "USD"): UnitCostLine => ({
  kind,
  group,
  currency,
  cost,
  driver: "1000",
  unit_cost: "0.5",
  periods_without_driver: periods.filter(([, u]) => u === null).length,
  revenue: kind === "unallocated" ? null : "100",
  gross_margin: kind === "unallocated" ? null : "90",
  gross_margin_pct: kind === "unallocated" ? null : "90.00",
  trend: kind === "total" ? { points: 4, slope_per_period: 0.1, first_half_mean: 1, second_half_mean: 1.2, change_pct: 20 } : null,
  anomalies: anomalies.map((day) => ({ period_start: `${day}T00:00:00Z`, unit_cost: "9", expected_unit_cost: "1", likelihood: 0.9999, direction: "spike", severity: "high" })),
  periods: periods.map(([day, unit]) => ({ period_start: `${day}T00:00:00Z`, cost: "1", driver: unit === null ? null : "1", unit_cost: unit, revenue: null, gross_margin: null, gross_margin_pct: null })),
});
const at = (day: string) => Date.parse(`${day}T00:00:00Z`) / 1000;

describe("unitCostSeries", () => {
  const answer: Pick<UnitCosts, "lines"> = {
    lines: [
      line("group", "acme", "30", [["2026-11-01", "1.5"], ["2026-11-02", "2"]], ["2026-11-02"]),
      line("group", "globex", "20", [["2026-11-01", "1"], ["2026-11-02", null]]),
      line("group", "initech", "10", [["2026-11-01", "3"], ["2026-11-02", "3"]]),
      line("unallocated", null, "5", [["2026-11-01", "0.25"], ["2026-11-02", "0.5"]]),
      line("total", null, "65", [["2026-11-01", "0.75"], ["2026-11-02", "1"]]),
      line("total", null, "1", [["2026-11-01", "9"]], [], "EUR"), // another currency: another chart
    ],
  };

  it("gives one series per line on the shared periods, nulls where a period has no figure", () => {
    const { x, series, omitted } = unitCostSeries(answer, "USD");
    expect(x).toEqual([at("2026-11-01"), at("2026-11-02")]);
    expect(series.map((s) => [s.label, s.kind, s.values])).toEqual([
      ["acme", "group", [1.5, 2]],
      ["globex", "group", [1, null]],
      ["initech", "group", [3, 3]],
      ["Unallocated (shared)", "unallocated", [0.25, 0.5]],
      ["Total", "total", [0.75, 1]],
    ]);
    expect(omitted).toBe(0);
  });
  it("marks anomalies at their period only", () => {
    const acme = unitCostSeries(answer, "USD").series[0];
    expect(acme?.anomalies).toEqual([null, 9]);
    expect(unitCostSeries(answer, "USD").series[1]?.anomalies).toEqual([null, null]);
  });
  it("draws the largest groups, then the unallocated line and the total", () => {
    const { series, omitted } = unitCostSeries(answer, "USD", 1);
    expect(series.map((s) => s.label)).toEqual(["acme", "Unallocated (shared)", "Total"]);
    expect(omitted).toBe(2);
  });
  it("picks the currency most of the cost is in", () => {
    expect(mainUnitCurrency(answer.lines)).toBe("USD");
    expect(mainUnitCurrency([])).toBeNull();
  });
  it("writes every line, the unallocated one included, to CSV", () => {
    const rows = unitCsvRows({ ...answer, metric: "requests", per: "1000" });
    expect(rows).toHaveLength(6);
    expect(rows[0]).toEqual(["acme", "group", "USD", "30", "requests", "1000", "1000", "0.5", "100", "90", "90.00", "", 1, 0]);
    expect(rows[3]?.slice(0, 3)).toEqual(["unallocated", "unallocated", "USD"]);
    expect(rows[4]?.[11]).toBe("20.00");
  });
});

describe("scatterSeries", () => {
  const answer: Pick<Correlation, "points" | "fit"> = {
    points: [
      { day: "2026-11-02", cost: "90.000000000", driver: "200" },
      { day: "2026-11-01", cost: "70.000000000", driver: "100" },
      { day: "2026-11-03", cost: "130.000000000", driver: "400" },
    ],
    fit: { intercept: "50.000000000", slope: 0.2, r_squared: 1 },
  };
  it("sorts the days by driver and puts the fitted line at the same x", () => {
    expect(scatterSeries(answer)).toEqual({
      x: [100, 200, 400],
      cost: [70, 90, 130],
      fit: [70, 90, 130],
      days: ["2026-11-01", "2026-11-02", "2026-11-03"],
    });
  });
  it("draws no line without a fit", () => {
    expect(scatterSeries({ ...answer, fit: null }).fit).toEqual([null, null, null]);
    expect(scatterSeries({ points: answer.points, fit: { intercept: null, slope: null, r_squared: null } }).fit).toEqual([null, null, null]);
    expect(scatterSeries({ points: [], fit: null })).toEqual({ x: [], cost: [], fit: [], days: [] });
  });
});

describe("unit formatting", () => {
  it("keeps fractions of a cent readable", () => {
    expect(formatUnit("0.000412345", "USD")).toBe("$0.0004123");
    expect(formatUnit(12.345, "USD")).toBe("$12.35");
    expect(formatUnit(null, "USD")).toBe("–");
    expect(formatUnit(0.5, "XX1")).toBe("0.5 XX1");
  });
  it("names the unit and the change", () => {
    expect(perText({ metric: "requests", per: "1000" })).toBe("per 1,000 requests");
    expect(perText({ metric: "customers", per: "1" })).toBe("per customer");
    expect(formatPercent(12.345, true)).toBe("+12.3%");
    expect(formatPercent("-3")).toBe("-3.0%");
    expect(formatPercent(null)).toBe("–");
    expect(unitLineLabel({ kind: "group", group: "acme" })).toBe("acme");
  });
});
