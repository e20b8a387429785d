// Unit economics answers (GET /v1/unit-costs, GET /v1/unit-economics/correlation) as chart series and table rows.
// No I/O.
import type { Correlation, UnitCostLine, UnitCosts } from "./api";
import type { Cell } from "./csv";

/** A line's name: its customer or feature, else what it stands for. */
export function unitLineLabel(line: Pick<UnitCostLine, "kind" | "group">): string {
  if (line.kind === "unallocated") return "Unallocated (shared)";
  if (line.kind === "total") return "Total";
  return line.group ?? "(no value)";
}

/** The currency most of the cost is in (by the total lines), else the first line's. */
export function mainUnitCurrency(lines: readonly UnitCostLine[]): string | null {
  let best: UnitCostLine | null = null;
  for (const line of lines) {
    if (line.kind !== "total") continue;
    if (!best || Number(line.cost) > Number(best.cost)) best = line;
  }
  return best?.currency ?? lines[0]?.currency ?? null;
}

const toNumber = (text: string | null | undefined): number | null => {
  if (text === null || text === undefined || text === "") return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
};

export interface UnitSeries {
  label: string;
  kind: UnitCostLine["kind"];
  values: (number | null)[]; // unit cost per period; null: no figure that period
  anomalies: (number | null)[]; // the unit cost at an anomalous period, null elsewhere
}

/** Unit cost over time, one series per line of one currency, on a shared x (epoch seconds of `period_start`).
 * The `maxGroups` largest customers or features are drawn (the answer lists them largest first), then the
 * unallocated line and the total; `omitted` says how many groups were left out of the chart. */
export function unitCostSeries(answer: Pick<UnitCosts, "lines">, currency: string, maxGroups = 8): { x: number[]; series: UnitSeries[]; omitted: number } {
  const lines = answer.lines.filter((l) => l.currency === currency);
  const groups = lines.filter((l) => l.kind === "group");
  const shown = [...groups.slice(0, maxGroups), ...lines.filter((l) => l.kind === "unallocated"), ...lines.filter((l) => l.kind === "total")];
  const seconds = (iso: string) => Math.round(Date.parse(iso) / 1000);
  const x = [...new Set(shown.flatMap((l) => l.periods.map((p) => seconds(p.period_start))))].sort((a, b) => a - b);
  const index = new Map(x.map((t, i) => [t, i]));
  const series = shown.map((line): UnitSeries => {
    const values: (number | null)[] = x.map(() => null);
    const anomalies: (number | null)[] = x.map(() => null);
    for (const p of line.periods) {
      const i = index.get(seconds(p.period_start));
      if (i !== undefined) values[i] = toNumber(p.unit_cost);
    }
    for (const a of line.anomalies) {
      const i = index.get(seconds(a.period_start));
      if (i !== undefined) anomalies[i] = toNumber(a.unit_cost);
    }
    return { label: unitLineLabel(line), kind: line.kind, values, anomalies };
  });
  return { x, series, omitted: Math.max(0, groups.length - maxGroups) };
}

/** The scatter of daily driver (x) against daily cost (y), sorted by driver as a chart's x axis needs, and the fitted
 * line cost = intercept + slope × driver at the same x (null everywhere without a fit). */
export function scatterSeries(answer: Pick<Correlation, "points" | "fit">): { x: number[]; cost: number[]; fit: (number | null)[]; days: string[] } {
  const points = answer.points
    .map((p) => ({ day: p.day, x: toNumber(p.driver), y: toNumber(p.cost) }))
    .filter((p): p is { day: string; x: number; y: number } => p.x !== null && p.y !== null)
    .sort((a, b) => a.x - b.x || a.day.localeCompare(b.day));
  const intercept = toNumber(answer.fit?.intercept);
  const slope = answer.fit?.slope ?? null;
  return {
    x: points.map((p) => p.x),
    cost: points.map((p) => p.y),
    fit: points.map((p) => (intercept === null || slope === null ? null : intercept + slope * p.x)),
    days: points.map((p) => p.day),
  };
}

/** Money per unit, which is often a fraction of a cent: two decimals from 1 up, else four significant digits. */
export function formatUnit(value: number | string | null, currency: string): string {
  const n = typeof value === "string" ? toNumber(value) : value;
  if (n === null) return "–";
  const digits = Math.abs(n) >= 1 || n === 0 ? { minimumFractionDigits: 2, maximumFractionDigits: 2 } : { maximumSignificantDigits: 4 };
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency, ...digits }).format(n);
  } catch {
    return `${new Intl.NumberFormat("en-US", digits).format(n)} ${currency}`;
  }
}

/** "+12.5%", "−3.0%", or "–". */
export function formatPercent(value: number | string | null | undefined, signed = false): string {
  const n = typeof value === "string" ? toNumber(value) : (value ?? null);
  if (n === null) return "–";
  return `${signed && n > 0 ? "+" : ""}${n.toFixed(1)}%`;
}

/** The unit for a column head: "per 1,000 requests", "per customer". */
export function perText(answer: Pick<UnitCosts, "metric" | "per">): string {
  const per = Number(answer.per);
  const singular = answer.metric === "customers" ? "customer" : answer.metric;
  return per === 1 ? `per ${singular}` : `per ${Number.isFinite(per) ? per.toLocaleString("en-US") : answer.per} ${answer.metric}`;
}

export const UNIT_CSV_HEADER = [
  "line",
  "kind",
  "currency",
  "cost",
  "metric",
  "driver",
  "per",
  "unit_cost",
  "revenue",
  "gross_margin",
  "gross_margin_percent",
  "trend_change_percent",
  "anomalies",
  "periods_without_driver",
];

/** The table's rows as CSV cells: exact decimals as the API wrote them. */
export function unitCsvRows(answer: Pick<UnitCosts, "lines" | "metric" | "per">): Cell[][] {
  return answer.lines.map((l) => [
    l.kind === "group" ? (l.group ?? "") : l.kind,
    l.kind,
    l.currency,
    l.cost,
    answer.metric,
    l.driver,
    answer.per,
    l.unit_cost,
    l.revenue,
    l.gross_margin,
    l.gross_margin_pct,
    l.trend?.change_pct?.toFixed(2) ?? "",
    l.anomalies.length,
    l.periods_without_driver,
  ]);
}

/** The business figures the dashboard offers as the metric or driver (any custom name works through the API). */
export const METRICS = ["requests", "customers", "orders", "revenue"] as const;
