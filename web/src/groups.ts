// Costs grouped by a dimension or tag key: totals and shares (allocation), hourly series and the steps in them
// (a change of level, as a deploy makes), estimated vs. billed, and periods. No I/O.
import type { BudgetStatus, CostsResponse, Money, Reconciliation } from "./api";
import { nanosToNumber, toNanos } from "./shape";

/** The label of a group whose key has no value (an untagged resource). */
export const UNSET = "(not set)";

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const DAY = 86_400_000;

/** Cost per group value and bucket, in one currency: a bucket's bill where it has one, else its estimate, so a
 * live estimate that was billed later is not counted twice (as the overview counts days). */
export function groupSeries(costs: Pick<CostsResponse, "rows">, key: string, currency: string): Map<string, Map<string, bigint>> {
  const billed = new Map<string, Map<string, bigint>>();
  const estimated = new Map<string, Map<string, bigint>>();
  for (const row of costs.rows) {
    if (row.group["currency"] !== currency) continue;
    const value = row.group[key] ?? UNSET;
    const into = row.group["cost_kind"] === "estimated" ? estimated : billed;
    const buckets = into.get(value) ?? new Map<string, bigint>();
    const at = new Date(row.period_start).toISOString();
    buckets.set(at, (buckets.get(at) ?? 0n) + toNanos(row.cost));
    into.set(value, buckets);
  }
  const out = new Map<string, Map<string, bigint>>();
  for (const value of new Set([...billed.keys(), ...estimated.keys()])) {
    const b = billed.get(value) ?? new Map<string, bigint>();
    const e = estimated.get(value) ?? new Map<string, bigint>();
    const merged = new Map<string, bigint>();
    for (const at of [...new Set([...b.keys(), ...e.keys()])].sort()) merged.set(at, b.get(at) ?? e.get(at) ?? 0n);
    out.set(value, merged);
  }
  return out;
}

export interface Share {
  value: string;
  cost: bigint;
  share: number; // 0–100 of the total
}

/** Each group value's total and share, largest first (the unset group last among equals). */
export function allocation(costs: Pick<CostsResponse, "rows">, key: string, currency: string): { rows: Share[]; total: bigint } {
  const rows: Share[] = [];
  let total = 0n;
  for (const [value, buckets] of groupSeries(costs, key, currency)) {
    let cost = 0n;
    for (const nanos of buckets.values()) cost += nanos;
    total += cost;
    rows.push({ value, cost, share: 0 });
  }
  for (const row of rows) row.share = total === 0n ? 0 : (nanosToNumber(row.cost) / nanosToNumber(total)) * 100;
  rows.sort((a, b) => (b.cost > a.cost ? 1 : b.cost < a.cost ? -1 : a.value === UNSET ? 1 : b.value === UNSET ? -1 : a.value.localeCompare(b.value)));
  return { rows, total };
}

/** The currencies of an answer, the largest first. */
export function currenciesOf(costs: Pick<CostsResponse, "rows">): string[] {
  const sums = new Map<string, bigint>();
  for (const row of costs.rows) {
    const currency = row.group["currency"];
    if (currency) sums.set(currency, (sums.get(currency) ?? 0n) + toNanos(row.cost));
  }
  return [...sums.entries()].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : a[0].localeCompare(b[0]))).map(([c]) => c);
}

/** Hourly points from `start` (inclusive) to `end` (exclusive), both ISO instants; a missing hour is 0. */
export function hourlyPoints(buckets: Map<string, bigint>, start: string, end: string): { at: string; cost: number }[] {
  const points: { at: string; cost: number }[] = [];
  for (let t = Date.parse(start); t < Date.parse(end); t += 3_600_000) {
    const at = new Date(t).toISOString();
    points.push({ at, cost: nanosToNumber(buckets.get(at) ?? 0n) });
  }
  return points;
}

export interface Step {
  at: string; // the first hour at the new level
  before: number; // mean hourly cost over the window before
  after: number; // ... and after
  change: number; // after − before, per hour
  monthly: number; // the change over a month (730 hours)
}

const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);

/** Where an hourly series changes level and stays there, as a deployment makes it.
 *
 * Under a week of history: the mean of the `window` hours after a point differs from the mean of the `window`
 * hours before by at least `minRelative` (and `minAbsolute` per hour). A whole day's window holds one of each hour
 * of the day, so the daily rhythm cancels out; the difference peaks at the step itself.
 *
 * With a week of history (`season` hours) before the window, the weekly rhythm is taken out too: the series is
 * compared with itself a week earlier (d = cost − cost a week before). A step is where d, about 0 before (this week
 * matched last week), moves by `minRelative` of last week's cost and stays there for `window` hours. So a quiet
 * weekend is no step, and last week's step, which d shows reversed a week later (d is off before, 0 after), is
 * not found again. `before` is then the cost of the same hours a week earlier, `after` their cost now.
 *
 * Of close candidates (within a window) only the largest is kept. */
export function detectSteps(
  points: readonly { at: string; cost: number }[],
  { window = 24, minRelative = 0.15, minAbsolute = 0.01, season = 168 }: { window?: number; minRelative?: number; minAbsolute?: number; season?: number } = {},
): Step[] {
  const costs = points.map((p) => p.cost);
  const weekly = costs.length >= season + 2 * window;
  const d = costs.map((c, i) => (i >= season ? c - (costs[i - season] ?? 0) : 0));
  const candidates: (Step & { index: number })[] = [];
  for (let i = weekly ? season + window : window; i + window <= costs.length; i++) {
    let before: number;
    let after: number;
    if (weekly) {
      const driftBefore = mean(d.slice(i - window, i));
      const driftAfter = mean(d.slice(i, i + window));
      if (Math.abs(driftBefore) > Math.abs(driftAfter - driftBefore) / 4) continue; // not like last week before
      after = mean(costs.slice(i, i + window));
      before = after - (driftAfter - driftBefore);
    } else {
      before = mean(costs.slice(i - window, i));
      after = mean(costs.slice(i, i + window));
    }
    const change = after - before;
    const relative = before > 0 ? Math.abs(change) / before : after > 0 ? Infinity : 0;
    if (relative < minRelative || Math.abs(change) < minAbsolute) continue;
    candidates.push({ index: i, at: points[i]?.at ?? "", before, after, change, monthly: change * 730 });
  }
  return candidates
    .filter((c) =>
      candidates.every(
        (other) =>
          other === c ||
          Math.abs(other.index - c.index) >= window ||
          Math.abs(other.change) < Math.abs(c.change) ||
          (Math.abs(other.change) === Math.abs(c.change) && other.index > c.index),
      ),
    )
    .map((c): Step => ({ at: c.at, before: c.before, after: c.after, change: c.change, monthly: c.monthly }));
}

/** 0–100: the share of the monthly spend the optimizer does not call waste (its recommendations' monthly saving).
 * Null with no spend to compare with. */
export function efficiencyScore(recommendedMonthly: Money, monthlySpend: bigint): number | null {
  if (monthlySpend <= 0n) return null;
  const waste = nanosToNumber(toNanos(recommendedMonthly)) / nanosToNumber(monthlySpend);
  return Math.round(Math.min(100, Math.max(0, 100 * (1 - waste))));
}

export interface ServiceReconciliation {
  service: string;
  estimated: bigint;
  billed: bigint;
  difference: bigint; // billed − estimated
  differencePercent: number | null; // of the estimate; null without one
}

/** Estimated vs. billed per service over the period, in one currency, largest estimate or bill first. */
export function reconciliationByService(answer: Pick<Reconciliation, "rows">, currency: string): ServiceReconciliation[] {
  const sums = new Map<string, { estimated: bigint; billed: bigint }>();
  for (const row of answer.rows) {
    if (row.currency !== currency) continue;
    const sum = sums.get(row.service) ?? { estimated: 0n, billed: 0n };
    sum.estimated += toNanos(row.estimated);
    sum.billed += toNanos(row.billed);
    sums.set(row.service, sum);
  }
  const max = (r: { estimated: bigint; billed: bigint }) => (r.estimated > r.billed ? r.estimated : r.billed);
  return [...sums.entries()]
    .map(([service, s]) => ({
      service,
      estimated: s.estimated,
      billed: s.billed,
      difference: s.billed - s.estimated,
      differencePercent: s.estimated === 0n ? null : (nanosToNumber(s.billed - s.estimated) / nanosToNumber(s.estimated)) * 100,
    }))
    .sort((a, b) => (max(b) > max(a) ? 1 : max(b) < max(a) ? -1 : a.service.localeCompare(b.service)));
}

/** over: forecast above the amount; under: below or equal; unknown: no forecast. */
export function varianceState(status: Pick<BudgetStatus, "variance">): "over" | "under" | "unknown" {
  if (status.variance === null) return "unknown";
  return toNanos(status.variance) > 0n ? "over" : "under";
}

export type Period = "this_month" | "last_month" | "last_30_days";

export const PERIODS: { id: Period; label: string }[] = [
  { id: "this_month", label: "This month" },
  { id: "last_month", label: "Last month" },
  { id: "last_30_days", label: "Last 30 days" },
];

/** A period's first day and exclusive end day (UTC), never past tomorrow. */
export function periodRange(period: Period, now: Date): { start: string; end: string } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const tomorrow = Date.UTC(y, m, now.getUTCDate() + 1);
  if (period === "last_month") return { start: isoDay(Date.UTC(y, m - 1, 1)), end: isoDay(Date.UTC(y, m, 1)) };
  if (period === "last_30_days") return { start: isoDay(tomorrow - 30 * DAY), end: isoDay(tomorrow) };
  return { start: isoDay(Date.UTC(y, m, 1)), end: isoDay(Math.min(tomorrow, Date.UTC(y, m + 1, 1))) };
}

/** How an AWS Cost Category value rides on a cost line: a tag under this prefix (outlay/allocation/engine.py). */
export const COST_CATEGORY_PREFIX = "costcategory:";

/** The grouping keys to offer: team, project and environment tags first, then AWS Cost Categories, the other tag
 * keys, and service and accounts. Only the keys the data has (from GET /v1/costs/dimensions). */
export function groupingChoices(tags: Record<string, string[]>, dimensions: Record<string, string[]>): { key: string; label: string }[] {
  const preferred = ["team", "project", "env", "environment", "cost_center", "costcenter"];
  const rank = (k: string) => preferred.indexOf(k) + 1 || (k.startsWith(COST_CATEGORY_PREFIX) ? 50 : 99);
  const tagKeys = Object.keys(tags).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const choices = tagKeys.map((k) => ({
    key: `tag:${k}`,
    label: k.startsWith(COST_CATEGORY_PREFIX) ? `Cost category ${k.slice(COST_CATEGORY_PREFIX.length)}` : `Tag ${k}`,
  }));
  for (const [key, label] of [
    ["service", "Service"],
    ["billing_account_id", "Billing account"],
    ["sub_account_id", "Account"],
    ["region", "Region"],
  ] as const) {
    if (dimensions[key]?.length) choices.push({ key, label });
  }
  return choices;
}

/** The tag key that names environments in this data (env, environment, stage), if any. */
export function environmentKey(tags: Record<string, string[]>): string | null {
  return ["env", "environment", "stage"].find((k) => k in tags) ?? null;
}
