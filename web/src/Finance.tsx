// Finance: allocation by the allocation rules' dimensions (team, product, …: direct and shared parts, unallocated),
// else by team / project / any tag key or account, budget variance, estimated vs. billed, CSV export.
import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import type { ApiClient, Me } from "./api";
import { ExportCsv, Select, Table } from "./Controls";
import { allocation, COST_CATEGORY_PREFIX, currenciesOf, groupingChoices, PERIODS, periodRange, reconciliationByService, varianceState, type Period } from "./groups";
import { allocationCurrencies, allocationRows, ruleDimensions, sharedParts } from "./allocationShape";
import { lacks } from "./roles";
import { formatMoney, nanosText } from "./shape";
import { Empty, Failure, Loading, NotAllowed } from "./States";

export function Finance({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const [period, setPeriod] = useState<Period>("this_month");
  const range = useMemo(() => periodRange(period, new Date()), [period]);
  const costsDenied = lacks(me?.scopes, "read:costs");
  return (
    <section aria-labelledby="finance-title">
      <h2 id="finance-title">Finance</h2>
      <Select
        label="Period"
        value={period}
        options={PERIODS.map((p) => ({ value: p.id, label: p.label }))}
        onChange={setPeriod}
        testId="finance-period"
      />
      <p className="help">
        {range.start} to {range.end} (end excluded), UTC.
      </p>
      {costsDenied ? (
        <NotAllowed reason={`Allocation and estimated vs. billed: ${costsDenied}`} />
      ) : (
        <>
          <Allocation client={client} range={range} />
          <EstimatedVsBilled client={client} range={range} />
        </>
      )}
      <Variance client={client} me={me} />
    </section>
  );
}

/** A choice of "Allocate by" that is a dimension of the allocation rules, not a tag or an account. */
const RULES_PREFIX = "rules:";

function Allocation({ client, range }: { client: ApiClient; range: { start: string; end: string } }) {
  // The allocation engine's dimensions (GET /v1/allocation/rules) come first; without rules (or when they cannot be
  // read) the cost lines' own tags and accounts are offered, grouped by GET /v1/costs.
  const rules = useQuery({ queryKey: ["allocation-rules"], queryFn: () => client.allocationRules(), retry: false });
  const dims = useQuery({ queryKey: ["dimensions", range.start, range.end], queryFn: () => client.dimensions(range.start, range.end) });
  const ruleChoices = ruleDimensions(rules.data).map((d) => ({ key: `${RULES_PREFIX}${d}`, label: `${d} (allocation rules)` }));
  const choices = [...ruleChoices, ...(dims.data ? groupingChoices(dims.data.tags, dims.data.dimensions) : [])];
  const [picked, setPicked] = useState<string | null>(null);
  const key = picked && choices.some((c) => c.key === picked) ? picked : (choices[0]?.key ?? null);
  const ruleDimension = key?.startsWith(RULES_PREFIX) ? key.slice(RULES_PREFIX.length) : null;
  const costs = useQuery({
    queryKey: ["costs", "allocation", key, range.start, range.end],
    queryFn: () => client.costs({ ...range, granularity: "day", group_by: key ? [key] : [] }),
    enabled: key !== null && ruleDimension === null,
  });
  const currency = costs.data ? (currenciesOf(costs.data)[0] ?? null) : null;
  const shares = costs.data && key && currency ? allocation(costs.data, key, currency) : null;
  const label = choices.find((c) => c.key === key)?.label ?? "";

  return (
    <section aria-labelledby="allocation-title">
      <h3 id="allocation-title">Allocation</h3>
      {dims.data && !ruleChoices.length && !choices.some((c) => c.key.startsWith(`tag:${COST_CATEGORY_PREFIX}`)) && (
        <p className="help" data-testid="cost-category-note">
          Cost categories: none in this period. The costs API has no cost-category dimension of its own; AWS Cost Category
          values are offered here when cost lines carry them as <code>{COST_CATEGORY_PREFIX}NAME</code> tags.
        </p>
      )}
      {rules.isError && (
        <p className="help" data-testid="allocation-rules-unavailable">
          The allocation rules could not be read ({rules.error.message}): allocating by the cost lines&apos; tags and accounts.
        </p>
      )}
      {rules.isPending || (dims.isPending && !ruleChoices.length) ? (
        <Loading what="the allocation dimensions" />
      ) : dims.isError && !ruleChoices.length ? (
        <Failure what="the dimensions" error={dims.error} retry={() => void dims.refetch()} />
      ) : !key ? (
        <Empty>No cost in this period to allocate.</Empty>
      ) : (
        <>
          <div className="toolbar">
            <Select label="Allocate by" value={key} options={choices.map((c) => ({ value: c.key, label: c.label }))} onChange={setPicked} testId="allocate-by" />
            {!ruleDimension && shares && currency && (
              <ExportCsv
                name={["allocation", key, range.start, range.end]}
                header={[label, "currency", "cost", "share_percent"]}
                rows={shares.rows.map((r) => [r.value, currency, nanosText(r.cost), r.share.toFixed(2)])}
                label="Export allocation as CSV"
                testId="export-allocation"
              />
            )}
          </div>
          {ruleDimension ? (
            <RuleAllocation client={client} range={range} dimension={ruleDimension} />
          ) : costs.isPending ? (
            <Loading what="the allocation" />
          ) : costs.isError ? (
            <Failure what="the allocation" error={costs.error} retry={() => void costs.refetch()} />
          ) : !shares || !currency || !shares.rows.length ? (
            <Empty>No cost in this period.</Empty>
          ) : (
            <>
              {currenciesOf(costs.data).length > 1 && <p className="help">Shown in {currency}; other currencies are not added in.</p>}
              <Table caption={`Allocation by ${label}`} head={[label, "Cost", "Share"]} testId="allocation" numeric={[1, 2]}>
                {shares.rows.map((r) => (
                  <tr key={r.value}>
                    <th scope="row">{r.value}</th>
                    <td className="num">{formatMoney(r.cost, currency)}</td>
                    <td className="num">
                      <span className="share">
                        <span className="share-bar" style={{ width: `${r.share}%` }} />
                      </span>
                      {r.share.toFixed(1)}%
                    </td>
                  </tr>
                ))}
                <tr className="total">
                  <th scope="row">Total</th>
                  <td className="num">{formatMoney(shares.total, currency)}</td>
                  <td className="num">100%</td>
                </tr>
              </Table>
            </>
          )}
        </>
      )}
    </section>
  );
}

/** The allocation engine's answer for one dimension: each owner's direct cost, its parts of the shared pools, its
 * total and share, `(unallocated)` always shown last. */
function RuleAllocation({ client, range, dimension }: { client: ApiClient; range: { start: string; end: string }; dimension: string }) {
  const report = useQuery({
    queryKey: ["allocation", dimension, range.start, range.end],
    queryFn: () => client.allocation({ by: dimension, start: range.start, end: range.end, grain: "day" }),
    retry: false,
  });
  const currencies = report.data ? allocationCurrencies(report.data) : [];
  const currency = currencies[0] ?? null;
  const table = report.data && currency ? allocationRows(report.data, currency) : null;
  const kindTotals = report.data?.totals.filter((t) => t.currency === currency) ?? [];
  if (report.isPending) return <Loading what="the allocation (GET /v1/allocation)" />;
  if (report.isError) return <Failure what="the allocation (GET /v1/allocation)" error={report.error} retry={() => void report.refetch()} />;
  if (!table || !currency) return <Empty>No cost in this period.</Empty>;
  const money = (nanos: bigint) => formatMoney(nanos, currency);
  return (
    <>
      <div className="toolbar">
        <ExportCsv
          name={["allocation", dimension, range.start, range.end]}
          header={[dimension, "currency", "direct", "shared", "shared_parts", "total", "share_percent"]}
          rows={table.rows.map((r) => [r.value, currency, nanosText(r.direct), nanosText(r.sharedTotal), sharedParts(r, nanosText), nanosText(r.total), r.share.toFixed(2)])}
          label="Export allocation as CSV"
          testId="export-allocation"
        />
      </div>
      <p className="help" data-testid="allocation-summary">
        Rules version {report.data.rules_version}.{" "}
        {kindTotals
          .filter((t) => t.allocated_share !== null)
          .map((t) => `${((t.allocated_share ?? 0) * 100).toFixed(1)}% of ${t.cost_kind} cost allocated`)
          .map((text) => `${text}. `)
          .join("")}
        {currencies.length > 1 && `Shown in ${currency}; other currencies are not added in. `}
        Each day counts its bill where it has one, else its estimate.
      </p>
      <Table caption={`Allocation by ${dimension}`} head={[dimension, "Direct", "Shared", "Total", "Share"]} testId="allocation" numeric={[1, 2, 3, 4]}>
        {table.rows.map((r) => (
          <tr key={r.value} className={r.value === report.data.unallocated_value ? "unallocated" : undefined}>
            <th scope="row">{r.value}</th>
            <td className="num">{money(r.direct)}</td>
            <td className="num">
              {money(r.sharedTotal)}
              {r.shared.size > 0 && <span className="help parts"> {sharedParts(r, money)}</span>}
            </td>
            <td className="num">{money(r.total)}</td>
            <td className="num">
              <span className="share">
                <span className="share-bar" style={{ width: `${Math.max(0, Math.min(100, r.share))}%` }} />
              </span>
              {r.share.toFixed(1)}%
            </td>
          </tr>
        ))}
        <tr className="total">
          <th scope="row">Total</th>
          <td className="num">{money(table.rows.reduce((sum, r) => sum + r.direct, 0n))}</td>
          <td className="num">{money(table.rows.reduce((sum, r) => sum + r.sharedTotal, 0n))}</td>
          <td className="num">{money(table.total)}</td>
          <td className="num">100%</td>
        </tr>
      </Table>
    </>
  );
}

function EstimatedVsBilled({ client, range }: { client: ApiClient; range: { start: string; end: string } }) {
  const rec = useQuery({ queryKey: ["reconciliation", range.start, range.end], queryFn: () => client.reconciliation(range.start, range.end) });
  const currency = rec.data?.totals[0]?.currency ?? null;
  const rows = rec.data && currency ? reconciliationByService(rec.data, currency) : [];
  const total = rec.data?.totals.find((t) => t.currency === currency);
  return (
    <section aria-labelledby="reconciliation-title">
      <h3 id="reconciliation-title">Estimated vs. billed</h3>
      <p className="help">Live estimates (metering) against the bill (exports), per service, from GET /v1/costs/reconciliation.</p>
      {rec.isPending ? (
        <Loading what="estimated vs. billed" />
      ) : rec.isError ? (
        <Failure what="estimated vs. billed" error={rec.error} retry={() => void rec.refetch()} />
      ) : !currency || !rows.length ? (
        <Empty>No estimated or billed cost in this period.</Empty>
      ) : (
        <>
          <div className="toolbar">
            <ExportCsv
              name={["estimated-vs-billed", range.start, range.end]}
              header={["service", "currency", "estimated", "billed", "difference", "difference_percent"]}
              rows={rows.map((r) => [r.service, currency, nanosText(r.estimated), nanosText(r.billed), nanosText(r.difference), r.differencePercent?.toFixed(2) ?? ""])}
              label="Export estimated vs. billed as CSV"
              testId="export-reconciliation"
            />
          </div>
          <Table caption="Estimated vs. billed per service" head={["Service", "Estimated", "Billed", "Difference"]} testId="reconciliation" numeric={[1, 2, 3]}>
            {rows.map((r) => (
              <tr key={r.service}>
                <th scope="row">{r.service}</th>
                <td className="num">{formatMoney(r.estimated, currency)}</td>
                <td className="num">{formatMoney(r.billed, currency)}</td>
                <td className="num">
                  {formatMoney(r.difference, currency)}
                  {r.differencePercent !== null && ` (${r.differencePercent >= 0 ? "+" : ""}${r.differencePercent.toFixed(1)}%)`}
                </td>
              </tr>
            ))}
            {total && (
              <tr className="total">
                <th scope="row">Total</th>
                <td className="num">{formatMoney(total.estimated, currency)}</td>
                <td className="num">{formatMoney(total.billed, currency)}</td>
                <td className="num">
                  {formatMoney(total.difference, currency)}
                  {total.difference_pct !== null && ` (${total.difference_pct}%)`}
                </td>
              </tr>
            )}
          </Table>
        </>
      )}
    </section>
  );
}

function Variance({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const denied = lacks(me?.scopes, "read:budgets");
  const variance = useQuery({ queryKey: ["budgets", "variance"], queryFn: () => client.budgetVariance(), enabled: !denied, retry: false });
  const rows = variance.data?.budgets ?? [];
  return (
    <section aria-labelledby="variance-title">
      <h3 id="variance-title">Budget variance</h3>
      {denied ? (
        <NotAllowed reason={denied} />
      ) : variance.isPending ? (
        <Loading what="the budget variance" />
      ) : variance.isError ? (
        <Failure what="the budget variance" error={variance.error} retry={() => void variance.refetch()} />
      ) : !rows.length ? (
        <Empty>No budgets yet: make one in Settings → Budgets.</Empty>
      ) : (
        <>
          <div className="toolbar">
            <ExportCsv
              name={["budget-variance"]}
              header={["budget", "scope", "currency", "amount", "actual_to_date", "forecast_total", "variance", "variance_percent", "summary"]}
              rows={rows.map((b) => [b.name, b.scope, b.currency, b.amount, b.actual_to_date, b.forecast_total, b.variance, b.variance_percent, b.summary])}
              label="Export budget variance as CSV"
              testId="export-variance"
            />
          </div>
          <Table caption="Budget variance" head={["Budget", "Amount", "Spent", "Forecast", "Variance", "Status"]} testId="variance" numeric={[1, 2, 3, 4]}>
            {rows.map((b) => {
              const state = varianceState(b);
              return (
                <tr key={b.budget_id} className={state}>
                  <th scope="row">
                    {b.name} <span className="help">{b.scope}</span>
                  </th>
                  <td className="num">{formatMoney(b.amount, b.currency)}</td>
                  <td className="num">{formatMoney(b.actual_to_date, b.currency)}</td>
                  <td className="num">{b.forecast_total ? formatMoney(b.forecast_total, b.currency) : "–"}</td>
                  <td className="num">
                    {b.variance ? formatMoney(b.variance, b.currency) : "–"}
                    {b.variance_percent !== null && ` (${b.variance_percent}%)`}
                  </td>
                  <td className="summary">
                    <span className={`badge ${state === "over" ? "high" : ""}`}>{state === "over" ? "over" : state === "under" ? "within" : "no forecast"}</span>{" "}
                    {b.summary}
                  </td>
                </tr>
              );
            })}
          </Table>
        </>
      )}
    </section>
  );
}
