// The allocation engine's answer (GET /v1/allocation) as the Finance table shows it: per owner its direct cost, its
// parts of each shared pool and its total, `(unallocated)` always last. No I/O.
import type { AllocationReport, AllocationRules } from "./api";
import { nanosToNumber, toNanos } from "./shape";

/** The value the engine gives cost nobody owns, when the answer does not say. */
export const UNALLOCATED = "(unallocated)";

/** The dimensions the tenant's rules define (team, product, …), in the rules' order; none without rules. */
export function ruleDimensions(rules: AllocationRules | undefined): string[] {
  if (!rules || rules.version === 0) return [];
  return Object.keys(rules.rules.dimensions ?? {});
}

export interface AllocatedRow {
  value: string;
  direct: bigint;
  /** Shared-cost rule → the part of that pool this owner received. */
  shared: Map<string, bigint>;
  sharedTotal: bigint;
  total: bigint;
  share: number; // 0–100 of the period's total
}

export interface AllocatedTable {
  rows: AllocatedRow[]; // largest first, the unallocated row last (present even at zero)
  total: bigint;
  unallocated: bigint;
  /** The shared-cost rules that gave anything, sorted. */
  rules: string[];
  /** Cost kinds summed in (per bucket: the bill where the bucket has one, else the estimate). */
  kinds: string[];
}

/** The currencies of a report, the largest total first. */
export function allocationCurrencies(report: Pick<AllocationReport, "totals">): string[] {
  const sums = new Map<string, bigint>();
  for (const t of report.totals) sums.set(t.currency, (sums.get(t.currency) ?? 0n) + toNanos(t.total));
  return [...sums.entries()].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : a[0].localeCompare(b[0]))).map(([c]) => c);
}

/** One currency's owners over the whole period. Bills and live estimates price the same usage, so they are never
 * added: each bucket counts its bill when it has one, else its estimate (as the rest of the dashboard does). Shared
 * pools are split per bucket by the engine, so the sums stay exact and the rows add up to the total. */
export function allocationRows(report: Pick<AllocationReport, "buckets" | "unallocated_value">, currency: string): AllocatedTable {
  const unallocatedValue = report.unallocated_value || UNALLOCATED;
  const byPeriod = new Map<string, AllocationReport["buckets"][number]>();
  for (const bucket of report.buckets) {
    if (bucket.currency !== currency) continue;
    const at = new Date(bucket.period_start).toISOString();
    const held = byPeriod.get(at);
    if (!held || (held.cost_kind !== "billed" && bucket.cost_kind === "billed")) byPeriod.set(at, bucket);
  }
  const owners = new Map<string, { direct: bigint; shared: Map<string, bigint>; total: bigint }>();
  const kinds = new Set<string>();
  const rules = new Set<string>();
  let total = 0n;
  for (const bucket of byPeriod.values()) {
    kinds.add(bucket.cost_kind);
    for (const v of bucket.values) {
      const owner = owners.get(v.value) ?? { direct: 0n, shared: new Map<string, bigint>(), total: 0n };
      owner.direct += toNanos(v.direct);
      for (const [rule, amount] of Object.entries(v.shared)) {
        owner.shared.set(rule, (owner.shared.get(rule) ?? 0n) + toNanos(amount));
        rules.add(rule);
      }
      const t = toNanos(v.total);
      owner.total += t;
      total += t;
      owners.set(v.value, owner);
    }
  }
  if (!owners.has(unallocatedValue)) owners.set(unallocatedValue, { direct: 0n, shared: new Map(), total: 0n });
  const rows: AllocatedRow[] = [...owners.entries()].map(([value, o]) => {
    let sharedTotal = 0n;
    for (const part of o.shared.values()) sharedTotal += part;
    return {
      value,
      direct: o.direct,
      shared: new Map([...o.shared.entries()].sort((a, b) => a[0].localeCompare(b[0]))),
      sharedTotal,
      total: o.total,
      share: total === 0n ? 0 : (nanosToNumber(o.total) / nanosToNumber(total)) * 100,
    };
  });
  rows.sort((a, b) =>
    a.value === unallocatedValue ? 1 : b.value === unallocatedValue ? -1 : b.total > a.total ? 1 : b.total < a.total ? -1 : a.value.localeCompare(b.value),
  );
  const unallocated = owners.get(unallocatedValue)?.total ?? 0n;
  return { rows, total, unallocated, rules: [...rules].sort(), kinds: [...kinds].sort() };
}

/** "support $12.50, tax $1.00": the shared parts of a row, for a cell or a CSV field. */
export function sharedParts(row: Pick<AllocatedRow, "shared">, format: (nanos: bigint) => string): string {
  return [...row.shared.entries()].map(([rule, nanos]) => `${rule} ${format(nanos)}`).join(", ");
}
