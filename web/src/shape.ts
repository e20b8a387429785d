// Data shaping with no I/O: the costs answer into days, month totals, month-over-month change and chart series.
import type { CostForecast, CostsResponse, Money } from "./api";

const NANOS = 1_000_000_000n;

/** An exact decimal string ("12.500000000", "-3.1") as integer nano-units. */
export function toNanos(money: Money): bigint {
  const text = money.trim();
  const negative = text.startsWith("-");
  const [units = "0", fraction = ""] = text.replace(/^[-+]/, "").split(".");
  const nanos = BigInt(units || "0") * NANOS + BigInt((fraction + "000000000").slice(0, 9));
  return negative ? -nanos : nanos;
}

/** Nano-units as an exact decimal string with 9 places ("12.500000000"), as the API writes money. */
export function nanosText(nanos: bigint): Money {
  const negative = nanos < 0n;
  const abs = negative ? -nanos : nanos;
  return `${negative ? "-" : ""}${abs / NANOS}.${(abs % NANOS).toString().padStart(9, "0")}`;
}

export function nanosToNumber(nanos: bigint): number {
  return Number(nanos) / 1e9;
}

export function formatMoney(amount: bigint | Money, currency: string): string {
  const value = typeof amount === "bigint" ? nanosToNumber(amount) : nanosToNumber(toNanos(amount));
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(value);
  } catch {
    return `${value.toFixed(2)} ${currency}`; // not an ISO currency code
  }
}

const isoDay = (date: Date): string => date.toISOString().slice(0, 10);

export interface MonthBounds {
  lastStart: string; // first day of last month
  thisStart: string; // first day of this month
  nextStart: string; // first day of next month (exclusive end)
  today: string;
}

/** Calendar months around `now`, in UTC like the API's buckets. */
export function monthBounds(now: Date): MonthBounds {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  return {
    lastStart: isoDay(new Date(Date.UTC(y, m - 1, 1))),
    thisStart: isoDay(new Date(Date.UTC(y, m, 1))),
    nextStart: isoDay(new Date(Date.UTC(y, m + 1, 1))),
    today: isoDay(now),
  };
}

/** The currency with the largest total (the one the overview shows), or null when there is no cost. */
export function mainCurrency(costs: CostsResponse): string | null {
  if (costs.currency) return costs.currency;
  const sums = new Map<string, bigint>();
  for (const t of costs.totals) sums.set(t.currency, (sums.get(t.currency) ?? 0n) + toNanos(t.cost));
  let best: string | null = null;
  for (const [currency, sum] of sums) if (best === null || sum > (sums.get(best) ?? 0n)) best = currency;
  return best;
}

/** Cost per day (YYYY-MM-DD) in one currency: the bill where a day has one, else the live estimate (the
 * forecast's basis too), so an estimated day that was billed later is not counted twice. */
export function dailyCosts(costs: CostsResponse, currency: string): Map<string, bigint> {
  const billed = new Map<string, bigint>();
  const estimated = new Map<string, bigint>();
  for (const row of costs.rows) {
    if (row.group["currency"] !== currency) continue;
    const day = row.period_start.slice(0, 10);
    const into = row.group["cost_kind"] === "estimated" ? estimated : billed;
    into.set(day, (into.get(day) ?? 0n) + toNanos(row.cost));
  }
  const days = new Map<string, bigint>();
  for (const day of [...new Set([...billed.keys(), ...estimated.keys()])].sort()) {
    days.set(day, billed.get(day) ?? estimated.get(day) ?? 0n);
  }
  return days;
}

export function sumDays(days: Map<string, bigint>, from: string, until: string): bigint {
  let sum = 0n;
  for (const [day, cost] of days) if (day >= from && day < until) sum += cost;
  return sum;
}

/** Percent change from `previous` to `current`; null when there was nothing before. */
export function percentChange(current: bigint, previous: bigint): number | null {
  if (previous === 0n) return null;
  return (nanosToNumber(current - previous) / nanosToNumber(previous)) * 100;
}

export interface MonthSummary {
  thisMonthToDate: bigint;
  lastMonthToSameDay: bigint; // last month's first days, as many as this month has had (today included)
  lastMonthTotal: bigint;
  change: number | null; // this month to date vs. the same days of last month, in percent
}

const addDays = (day: string, n: number): string => isoDay(new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000));

export function monthSummary(days: Map<string, bigint>, bounds: MonthBounds): MonthSummary {
  const tomorrow = addDays(bounds.today, 1);
  const elapsed = Math.round((Date.parse(tomorrow) - Date.parse(bounds.thisStart)) / 86_400_000);
  const sameDay = addDays(bounds.lastStart, elapsed);
  const lastMonthToSameDay = sumDays(days, bounds.lastStart, sameDay < bounds.thisStart ? sameDay : bounds.thisStart);
  const thisMonthToDate = sumDays(days, bounds.thisStart, tomorrow);
  return {
    thisMonthToDate,
    lastMonthToSameDay,
    lastMonthTotal: sumDays(days, bounds.lastStart, bounds.thisStart),
    change: percentChange(thisMonthToDate, lastMonthToSameDay),
  };
}

export interface ChartSeries {
  dayOfMonth: number[]; // 1 … 31
  thisMonth: (number | null)[];
  lastMonth: (number | null)[];
  forecast: (number | null)[]; // the expected daily cost of this month's remaining days
}

/** Daily series aligned by day of month: this month (to today), last month, and the forecast's days. */
export function chartSeries(days: Map<string, bigint>, bounds: MonthBounds, forecast?: CostForecast): ChartSeries {
  const daysIn = (start: string, end: string) => Math.round((Date.parse(end) - Date.parse(start)) / 86_400_000);
  const length = Math.max(daysIn(bounds.thisStart, bounds.nextStart), daysIn(bounds.lastStart, bounds.thisStart));
  const series: ChartSeries = { dayOfMonth: [], thisMonth: [], lastMonth: [], forecast: [] };
  const expected = new Map((forecast?.days ?? []).map((d) => [d.day, nanosToNumber(toNanos(d.expected))]));
  for (let i = 0; i < length; i++) {
    const thisDay = addDays(bounds.thisStart, i);
    const lastDay = addDays(bounds.lastStart, i);
    series.dayOfMonth.push(i + 1);
    const inThis = thisDay < bounds.nextStart;
    series.thisMonth.push(inThis && thisDay <= bounds.today ? nanosToNumber(days.get(thisDay) ?? 0n) : null);
    series.lastMonth.push(lastDay < bounds.thisStart ? nanosToNumber(days.get(lastDay) ?? 0n) : null);
    series.forecast.push(inThis ? (expected.get(thisDay) ?? null) : null);
  }
  return series;
}

/** "+12.3%" / "−4.0%" / "n/a". */
export function formatChange(change: number | null): string {
  if (change === null || !Number.isFinite(change)) return "n/a";
  return `${change >= 0 ? "+" : "−"}${Math.abs(change).toFixed(1)}%`;
}

/** The month-end forecast in `currency`, or null when the forecast service gave none for it. */
export function monthEndForecast(forecasts: CostForecast[], currency: string): CostForecast | null {
  return forecasts.find((f) => f.scope === "total" && f.currency === currency) ?? null;
}

export type RangeKind = "month" | "30d" | "90d" | "custom";

export interface Period {
  start: string; // inclusive day
  end: string; // exclusive day
}

export interface RangeBounds {
  current: Period;
  previous: Period; // the period before `current`, as many days long (this month: last month's same first days)
  label: string; // "2026-11-01 – 2026-11-30" (both days included)
}

const daysBetween = (start: string, end: string): number => Math.round((Date.parse(end) - Date.parse(start)) / 86_400_000);

/** The selected period and the one before it, in whole UTC days (end exclusive), or null when a custom range is
 * not a valid range (missing, reversed, in the future). Today counts as a day of every range. */
export function rangeBounds(kind: RangeKind, bounds: MonthBounds, custom?: { start: string; end: string }): RangeBounds | null {
  const tomorrow = addDays(bounds.today, 1);
  let current: Period;
  let previous: Period;
  if (kind === "month") {
    current = { start: bounds.thisStart, end: tomorrow };
    const sameDay = addDays(bounds.lastStart, daysBetween(bounds.thisStart, tomorrow));
    previous = { start: bounds.lastStart, end: sameDay < bounds.thisStart ? sameDay : bounds.thisStart };
  } else {
    if (kind === "custom") {
      const ok = /^\d{4}-\d{2}-\d{2}$/;
      if (!custom || !ok.test(custom.start) || !ok.test(custom.end)) return null;
      if (Number.isNaN(Date.parse(custom.start)) || Number.isNaN(Date.parse(custom.end))) return null;
      if (custom.end < custom.start || custom.start > bounds.today) return null;
      current = { start: custom.start, end: addDays(custom.end < bounds.today ? custom.end : bounds.today, 1) };
    } else {
      current = { start: addDays(tomorrow, kind === "30d" ? -30 : -90), end: tomorrow };
    }
    previous = { start: addDays(current.start, -daysBetween(current.start, current.end)), end: current.start };
  }
  return { current, previous, label: `${current.start} – ${addDays(current.end, -1)}` };
}

/** Cost per value of `dimension` over the whole answer in one currency, each day counted once (its bill where it
 * has one, else its estimate, as `dailyCosts`). A missing value is "(none)". */
export function groupTotals(costs: CostsResponse, currency: string, dimension: string): Map<string, bigint> {
  const billed = new Map<string, bigint>();
  const estimated = new Map<string, bigint>();
  for (const row of costs.rows) {
    if (row.group["currency"] !== currency) continue;
    const key = `${row.group[dimension] ?? "(none)"}\u0000${row.period_start.slice(0, 10)}`;
    const into = row.group["cost_kind"] === "estimated" ? estimated : billed;
    into.set(key, (into.get(key) ?? 0n) + toNanos(row.cost));
  }
  const totals = new Map<string, bigint>();
  for (const key of new Set([...billed.keys(), ...estimated.keys()])) {
    const name = key.slice(0, key.indexOf("\u0000"));
    totals.set(name, (totals.get(name) ?? 0n) + (billed.get(key) ?? estimated.get(key) ?? 0n));
  }
  return totals;
}

export interface Mover {
  name: string;
  current: bigint;
  previous: bigint;
  change: bigint; // current − previous
  percent: number | null; // null when there was nothing before (new, or from zero)
  status: "new" | "gone" | "changed";
}

/** The groups whose cost changed most between two periods, largest absolute change first (ties by name); groups
 * that did not change are left out. */
export function topMovers(current: Map<string, bigint>, previous: Map<string, bigint>, limit = 10): Mover[] {
  const movers: Mover[] = [];
  for (const name of new Set([...current.keys(), ...previous.keys()])) {
    const now = current.get(name) ?? 0n;
    const before = previous.get(name) ?? 0n;
    const change = now - before;
    if (change === 0n) continue;
    const status = before === 0n ? "new" : now === 0n ? "gone" : "changed";
    movers.push({ name, current: now, previous: before, change, percent: percentChange(now, before), status });
  }
  const abs = (n: bigint) => (n < 0n ? -n : n);
  movers.sort((a, b) => {
    const d = abs(b.change) - abs(a.change);
    return d > 0n ? 1 : d < 0n ? -1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  return movers.slice(0, limit);
}

/** Daily values over a period (x: day number from 1), for a range other than this month. */
export function periodSeries(days: Map<string, bigint>, period: Period): { x: number[]; values: (number | null)[]; days: string[] } {
  const out = { x: [] as number[], values: [] as (number | null)[], days: [] as string[] };
  const n = daysBetween(period.start, period.end);
  for (let i = 0; i < n; i++) {
    const day = addDays(period.start, i);
    out.x.push(i + 1);
    out.days.push(day);
    out.values.push(nanosToNumber(days.get(day) ?? 0n));
  }
  return out;
}
