// Anomaly presentation with no I/O: a readable series name, bar widths for expected vs. actual, the verdicts.
import type { Anomaly, Verdict } from "./api";
import { nanosToNumber, toNanos } from "./shape";

export const VERDICTS: { verdict: Verdict; label: string }[] = [
  { verdict: "true_positive", label: "Real problem" },
  { verdict: "false_positive", label: "False alarm" },
  { verdict: "planned", label: "Planned change" },
];

/** "AmazonEC2 · 111122223333" from the anomaly's dimensions, or its series id when it has none. */
export function describeSeries(anomaly: Pick<Anomaly, "dimensions" | "series">): string {
  const preferred = ["service", "billing_account_id", "region"];
  const keys = Object.keys(anomaly.dimensions).sort(
    (a, b) => (preferred.indexOf(a) + 1 || 99) - (preferred.indexOf(b) + 1 || 99) || a.localeCompare(b),
  );
  const parts = keys.map((k) => anomaly.dimensions[k]).filter((v): v is string => Boolean(v));
  return parts.length ? parts.join(" · ") : anomaly.series;
}

/** Widths (0–100) of the expected and actual bars, on one scale, and the change from expected in percent. */
export function anomalyBars(anomaly: Pick<Anomaly, "expected_cost" | "actual_cost">): {
  expectedPercent: number;
  actualPercent: number;
  changePercent: number | null;
} {
  const expected = Math.max(nanosToNumber(toNanos(anomaly.expected_cost)), 0);
  const actual = Math.max(nanosToNumber(toNanos(anomaly.actual_cost)), 0);
  const top = Math.max(expected, actual);
  return {
    expectedPercent: top ? (expected / top) * 100 : 0,
    actualPercent: top ? (actual / top) * 100 : 0,
    changePercent: expected ? ((actual - expected) / expected) * 100 : null,
  };
}
