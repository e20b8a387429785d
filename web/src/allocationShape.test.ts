import { describe, expect, it } from "vitest";
import type { AllocationReport, AllocationValue } from "./api";
import { allocationCurrencies, allocationRows, ruleDimensions, sharedParts, UNALLOCATED } from "./allocationShape";
import { nanosText } from "./shape";

const value = (name: string, direct: string, shared: Record<string, string> = {}): AllocationValue => {
  const total = Object.values(shared).reduce((sum, part) => sum + Number(part), Number(direct));
  return { value: name, direct, shared, total: String(total) };
};
type Bucket = AllocationReport["buckets"][number];
const bucket = (day: string, kind: string, values: AllocationValue[], currency = "USD"): Bucket => ({
  period_start: `${day}T00:00:00Z`,
  currency,
  cost_kind: kind,
  total: String(values.reduce((sum, v) => sum + Number(v.total), 0)),
  values,
});
const report = (buckets: Bucket[]): Pick<AllocationReport, "buckets" | "unallocated_value"> => ({ buckets, unallocated_value: UNALLOCATED });

describe("ruleDimensions", () => {
  it("lists the rules' dimensions, none without rules", () => {
    expect(ruleDimensions({ version: 3, rules: { dimensions: { team: {}, product: {} } } })).toEqual(["team", "product"]);
    expect(ruleDimensions({ version: 0, rules: { dimensions: {} } })).toEqual([]);
    expect(ruleDimensions(undefined)).toEqual([]);
  });
});

describe("allocationRows", () => {
  const answer = report([
    bucket("2026-11-01", "billed", [value("web", "10", { support: "2" }), value("data", "20", { support: "4" }), value(UNALLOCATED, "3")]),
    bucket("2026-11-01", "estimated", [value("web", "99")]), // billed that day: not added
    bucket("2026-11-02", "estimated", [value("web", "5", { tax: "1" }), value(UNALLOCATED, "0")]), // no bill yet: counted
    bucket("2026-11-01", "billed", [value("data", "1000")], "EUR"), // another currency: not added
  ]);
  const table = allocationRows(answer, "USD");

  it("sums direct and shared parts per owner, each day's bill else its estimate", () => {
    expect(table.rows.map((r) => [r.value, nanosText(r.direct), nanosText(r.sharedTotal), nanosText(r.total)])).toEqual([
      ["data", "20.000000000", "4.000000000", "24.000000000"],
      ["web", "15.000000000", "3.000000000", "18.000000000"],
      [UNALLOCATED, "3.000000000", "0.000000000", "3.000000000"],
    ]);
    expect(table.total).toBe(45_000_000_000n);
    expect(table.unallocated).toBe(3_000_000_000n);
    expect(table.rules).toEqual(["support", "tax"]);
    expect(table.kinds).toEqual(["billed", "estimated"]);
  });
  it("shares the total and names each shared part", () => {
    expect(table.rows.map((r) => r.share.toFixed(2))).toEqual(["53.33", "40.00", "6.67"]);
    const web = table.rows.find((r) => r.value === "web");
    expect(web && sharedParts(web, (n) => nanosText(n))).toBe("support 2.000000000, tax 1.000000000");
  });
  it("always shows the unallocated row, last, even at zero or with no cost", () => {
    const none = allocationRows(report([bucket("2026-11-01", "billed", [value("web", "1")])]), "USD");
    expect(none.rows.map((r) => [r.value, r.total])).toEqual([
      ["web", 1_000_000_000n],
      [UNALLOCATED, 0n],
    ]);
    expect(allocationRows(report([]), "USD").rows.map((r) => r.value)).toEqual([UNALLOCATED]);
  });
  it("orders currencies by their total", () => {
    const totals = [
      { currency: "USD", cost_kind: "billed", total: "30", allocated: "30", unallocated: "0", allocated_share: 1, values: [] },
      { currency: "EUR", cost_kind: "billed", total: "1000", allocated: "0", unallocated: "1000", allocated_share: 0, values: [] },
      { currency: "USD", cost_kind: "estimated", total: "5", allocated: "5", unallocated: "0", allocated_share: 1, values: [] },
    ];
    expect(allocationCurrencies({ totals })).toEqual(["EUR", "USD"]);
  });
});
