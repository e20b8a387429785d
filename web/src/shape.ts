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
