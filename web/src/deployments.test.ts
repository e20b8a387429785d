import { describe, expect, it } from "vitest";
import { signedMoney, stepStatus } from "./Deployments";

const step = {
  currency: "USD", cost_kind: "estimated" as const, window_hours: 24, hours_before: 24, hours_after: 24,
  hourly_before: "1.000000000", hourly_after: "1.500000000", hourly_change: "0.500000000",
  monthly_change: "365.000000000", change_share: 0.5, settled: true,
};

describe("deployment cost steps", () => {
  it("signs a change in money", () => {
    expect(signedMoney("365.000000000", "USD")).toBe("+$365.00");
    expect(signedMoney("-12.400000000", "USD")).toBe("−$12.40");
    expect(signedMoney("0.000000000", "USD")).toBe("$0.00");
  });
  it("says how settled a step is and what it was measured on", () => {
    expect(stepStatus(step)).toBe("24 h each side, live estimate");
    expect(stepStatus({ ...step, settled: false, hours_after: 3, cost_kind: "billed" })).toBe("settling: 3 of 24 h after, billed");
  });
});
