// Finance: allocation by team / project / any tag key or account, budget variance, estimated vs. billed, CSV export.
import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import type { ApiClient, Me } from "./api";
import { ExportCsv, Select, Table } from "./Controls";
import { allocation, COST_CATEGORY_PREFIX, currenciesOf, groupingChoices, PERIODS, periodRange, reconciliationByService, varianceState, type Period } from "./groups";
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

function Allocation({ client, range }: { client: ApiClient; range: { start: string; end: string } }) {
  const dims = useQuery({ queryKey: ["dimensions", range.start, range.end], queryFn: () => client.dimensions(range.start, range.end) });
  const choices = dims.data ? groupingChoices(dims.data.tags, dims.data.dimensions) : [];
  const [picked, setPicked] = useState<string | null>(null);
  const key = picked && choices.some((c) => c.key === picked) ? picked : (choices[0]?.key ?? null);
  const costs = useQuery({
    queryKey: ["costs", "allocation", key, range.start, range.end],
    queryFn: () => client.costs({ ...range, granularity: "day", group_by: key ? [key] : [] }),
    enabled: key !== null,
  });
  const currency = costs.data ? (currenciesOf(costs.data)[0] ?? null) : null;
  const shares = costs.data && key && currency ? allocation(costs.data, key, currency) : null;
  const label = choices.find((c) => c.key === key)?.label ?? "";

  return (
    <section aria-labelledby="allocation-title">
      <h3 id="allocation-title">Allocation</h3>
      {dims.data && !choices.some((c) => c.key.startsWith(`tag:${COST_CATEGORY_PREFIX}`)) && (
        <p className="help" data-testid="cost-category-note">
          Cost categories: none in this period. The costs API has no cost-category dimension of its own; AWS Cost Category
          values are offered here when cost lines carry them as <code>{COST_CATEGORY_PREFIX}NAME</code> tags.
        </p>
      )}
      {dims.isPending ? (
        <Loading what="the dimensions" />
      ) : dims.isError ? (
        <Failure what="the dimensions" error={dims.error} retry={() => void dims.refetch()} />
      ) : !key ? (
        <Empty>No cost in this period to allocate.</Empty>
      ) : (
        <>
          <div className="toolbar">
            <Select label="Allocate by" value={key} options={choices.map((c) => ({ value: c.key, label: c.label }))} onChange={setPicked} testId="allocate-by" />
            {shares && currency && (
              <ExportCsv
                name={["allocation", key, range.start, range.end]}
                header={[label, "currency", "cost", "share_percent"]}
                rows={shares.rows.map((r) => [r.value, currency, nanosText(r.cost), r.share.toFixed(2)])}
                label="Export allocation as CSV"
                testId="export-allocation"
              />
            )}
          </div>
          {costs.isPending ? (
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
