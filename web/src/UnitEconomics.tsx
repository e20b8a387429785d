// Unit economics: cost per customer, per feature, per 1,000 requests, gross margin, unit cost over time with its
// anomalies (GET /v1/unit-costs), and how daily cost moves with revenue or usage (GET /v1/unit-economics/correlation).
import { useCallback, useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import type { ApiClient, Me, UnitBy, UnitCostLine, UnitCosts } from "./api";
import { ExportCsv, Select, Table } from "./Controls";
import { PERIODS, periodRange, type Period } from "./groups";
import { lacks } from "./roles";
import { formatMoney } from "./shape";
import { Empty, Failure, Loading, NotAllowed } from "./States";
import { ScatterChart, UnitCostChart } from "./UnitCharts";
import {
  formatPercent,
  formatUnit,
  mainUnitCurrency,
  METRICS,
  perText,
  scatterSeries,
  UNIT_CSV_HEADER,
  unitCostSeries,
  unitCsvRows,
  unitLineLabel,
} from "./unitShape";

const BY: { value: UnitBy; label: string }[] = [
  { value: "none", label: "Whole business" },
  { value: "customer", label: "Customer" },
  { value: "feature", label: "Feature" },
];

const figureText = (value: string | null) =>
  value === null ? "–" : Number(value).toLocaleString("en-US", { maximumFractionDigits: 2 });

export function UnitEconomics({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const [period, setPeriod] = useState<Period>("last_30_days");
  const range = useMemo(() => periodRange(period, new Date()), [period]);
  const denied = lacks(me?.scopes, "read:costs");
  return (
    <section aria-labelledby="unit-economics-title">
      <h2 id="unit-economics-title">Unit economics</h2>
      <Select label="Period" value={period} options={PERIODS.map((p) => ({ value: p.id, label: p.label }))} onChange={setPeriod} testId="unit-period" />
      <p className="help">
        {range.start} to {range.end} (end excluded), UTC. Each day uses the bill where it has one, else the live estimate.
      </p>
      {denied ? (
        <NotAllowed reason={`Unit costs and the cost correlation: ${denied}`} />
      ) : (
        <>
          <UnitCostsSection client={client} range={range} />
          <CorrelationSection client={client} range={range} />
        </>
      )}
    </section>
  );
}

/** How to send business figures: shown wherever there are none. */
function HowToSend({ testId }: { testId: string }) {
  return (
    <div className="state empty" data-testid={testId}>
      <p>
        No business figures in this period. Send customers, requests, orders or revenue per hour or day with{" "}
        <code>POST /v1/business-metrics</code> (a key with the <code>write:metrics</code> scope), for example:
      </p>
      <pre className="code">{`{"metrics": [{"name": "requests", "period_start": "2026-11-29", "grain": "day",
  "value": "1250000", "dimension": "customer", "dimension_value": "acme"}]}`}</pre>
      <p className="help">See docs/unit-economics.md.</p>
    </div>
  );
}

function hasFigures(answer: UnitCosts): boolean {
  return answer.lines.some((l) => l.driver !== null || l.revenue !== null || l.periods.some((p) => p.driver !== null || p.revenue !== null));
}

const SHARED: { value: "keep" | "by_usage"; label: string }[] = [
  { value: "keep", label: "on its own line" },
  { value: "by_usage", label: "split by each one's usage" },
];

function UnitCostsSection({ client, range }: { client: ApiClient; range: { start: string; end: string } }) {
  const [metric, setMetric] = useState<string>("requests");
  const [by, setBy] = useState<UnitBy>("customer");
  const [shared, setShared] = useState<"keep" | "by_usage">("keep");
  const answer = useQuery({
    queryKey: ["unit-costs", metric, by, shared, range.start, range.end],
    queryFn: () => client.unitCosts({ metric, by, start: range.start, end: range.end, grain: "day", shared: by === "none" ? "keep" : shared }),
    retry: false,
  });
  const data = answer.data;
  const currency = data ? mainUnitCurrency(data.lines) : null;
  const chart = useMemo(() => (data && currency ? unitCostSeries(data, currency) : null), [data, currency]);
  const format = useCallback((v: number) => formatUnit(v, currency ?? "USD"), [currency]);
  const per = data ? perText(data) : "";
  const total = data?.lines.find((l) => l.kind === "total" && l.currency === currency);

  return (
    <section aria-labelledby="unit-costs-title">
      <h3 id="unit-costs-title">Unit costs</h3>
      <div className="toolbar">
        <Select label="Business metric" value={metric} options={METRICS.map((m) => ({ value: m, label: m }))} onChange={setMetric} testId="unit-metric" />
        <Select label="Split by" value={by} options={BY} onChange={setBy} testId="unit-by" />
        {by !== "none" && (
          <Select
            label="Shared cost"
            value={shared}
            options={SHARED}
            onChange={setShared}
            testId="unit-shared"
          />
        )}
        {data && data.lines.length > 0 && hasFigures(data) && (
          <ExportCsv
            name={["unit-costs", data.metric, data.by, range.start, range.end]}
            header={UNIT_CSV_HEADER}
            rows={unitCsvRows(data)}
            label="Export unit costs as CSV"
            testId="export-unit-costs"
          />
        )}
      </div>
      {answer.isPending ? (
        <Loading what="the unit costs" />
      ) : answer.isError ? (
        <Failure what="the unit costs (GET /v1/unit-costs)" error={answer.error} retry={() => void answer.refetch()} />
      ) : !hasFigures(answer.data) ? (
        <HowToSend testId="unit-empty" />
      ) : !answer.data.lines.length ? (
        <Empty>No cost in this period.</Empty>
      ) : (
        <>
          {answer.data.notes.length > 0 && (
            <ul className="help notes" data-testid="unit-notes">
              {answer.data.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          )}
          {total && (
            <p className="figure-line" data-testid="unit-headline">
              <strong>{formatUnit(total.unit_cost, total.currency)}</strong> {per} over the period
              {total.trend?.change_pct != null && <> ({formatPercent(total.trend.change_pct, true)} second half against the first)</>}
            </p>
          )}
          <UnitTable answer={answer.data} per={per} />
          <h4 id="unit-trend-title">Unit cost over time</h4>
          {chart && chart.x.length > 0 && currency ? (
            <>
              <UnitCostChart x={chart.x} series={chart.series} title={`Unit cost over time (${per}, ${currency})`} format={format} />
              <p className="help">
                Red points: anomalies of a line's unit cost (the anomaly detector run over the period asked). A gap is a period without the
                line's figure. Shown in {currency}
                {chart.omitted > 0 && `; ${chart.omitted} smaller ${by === "feature" ? "features" : "customers"} are in the table only`}.
              </p>
            </>
          ) : (
            <Empty>No periods to draw.</Empty>
          )}
        </>
      )}
    </section>
  );
}

function UnitTable({ answer, per }: { answer: UnitCosts; per: string }) {
  const byLabel = answer.by === "feature" ? "Feature" : answer.by === "customer" ? "Customer" : "Line";
  const anomalyText = (l: UnitCostLine) =>
    l.anomalies.length ? l.anomalies.map((a) => `${a.period_start.slice(0, 10)} ${a.direction} (${a.severity})`).join(", ") : "–";
  return (
    <Table
      caption="Unit cost per line"
      head={[byLabel, "Cost", `Driver (${answer.metric})`, `Unit cost ${per}`, "Revenue", "Gross margin", "Margin %", "Trend", "Anomalies"]}
      testId="unit-costs"
      numeric={[1, 2, 3, 4, 5, 6, 7]}
    >
      {answer.lines.map((l) => (
        <tr key={`${l.currency}|${l.kind}|${l.group ?? ""}`} className={l.kind === "total" ? "total" : l.kind === "unallocated" ? "unallocated" : undefined} data-kind={l.kind}>
          <th scope="row">
            {unitLineLabel(l)}
            {l.periods_without_driver > 0 && <span className="help"> ({l.periods_without_driver} periods without a figure)</span>}
          </th>
          <td className="num">
            {formatMoney(l.cost, l.currency)}
            {l.shared_cost && Number(l.shared_cost) !== 0 && (
              <span className="help"> (of which shared {formatMoney(l.shared_cost, l.currency)})</span>
            )}
          </td>
          <td className="num">{figureText(l.driver)}</td>
          <td className="num">{formatUnit(l.unit_cost, l.currency)}</td>
          <td className="num">{l.revenue === null ? "–" : formatMoney(l.revenue, l.currency)}</td>
          <td className="num">{l.gross_margin === null ? "–" : formatMoney(l.gross_margin, l.currency)}</td>
          <td className="num">{formatPercent(l.gross_margin_pct)}</td>
          <td className="num">{formatPercent(l.trend?.change_pct, true)}</td>
          <td>{anomalyText(l)}</td>
        </tr>
      ))}
    </Table>
  );
}

function CorrelationSection({ client, range }: { client: ApiClient; range: { start: string; end: string } }) {
  const [driver, setDriver] = useState<string>("revenue");
  const answer = useQuery({
    queryKey: ["unit-correlation", driver, range.start, range.end],
    queryFn: () => client.correlation({ driver, start: range.start, end: range.end }),
    retry: false,
  });
  const data = answer.data;
  const scatter = useMemo(() => (data ? scatterSeries(data) : null), [data]);
  const currency = data?.currency ?? "USD";
  const format = useCallback((v: number) => formatMoney(BigInt(Math.round(v * 1e9)), currency), [currency]);
  const number = (v: number | null, digits = 2) => (v === null ? "–" : v.toFixed(digits));

  return (
    <section aria-labelledby="correlation-title">
      <h3 id="correlation-title">Cost against the business</h3>
      <p className="help">Each point is a day: the whole business's figure against that day's cost, with the least-squares line through them.</p>
      <div className="toolbar">
        <Select label="Driver" value={driver} options={METRICS.map((m) => ({ value: m, label: m }))} onChange={setDriver} testId="correlation-driver" />
      </div>
      {answer.isPending ? (
        <Loading what="the cost correlation" />
      ) : answer.isError ? (
        <Failure what="the cost correlation (GET /v1/unit-economics/correlation)" error={answer.error} retry={() => void answer.refetch()} />
      ) : !answer.data.points.length ? (
        <div className="state empty" data-testid="correlation-empty">
          <p>
            No days with both cost and a whole-business <code>{answer.data.driver}</code> figure: send them with <code>POST /v1/business-metrics</code>{" "}
            (without a <code>dimension</code>).
          </p>
          <p className="help" data-testid="correlation-explanation">
            {answer.data.explanation}
          </p>
        </div>
      ) : (
        <figure className="correlation">
          {scatter && <ScatterChart x={scatter.x} cost={scatter.cost} fit={scatter.fit} title={`Daily cost against ${answer.data.driver}`} xLabel={answer.data.driver} format={format} />}
          <figcaption data-testid="correlation-caption">
            <dl className="facts">
              <div>
                <dt>Fixed cost per day</dt>
                <dd data-testid="fixed-cost-per-day">{answer.data.fixed_cost_per_day === null ? "–" : formatMoney(answer.data.fixed_cost_per_day, currency)}</dd>
              </div>
              <div>
                <dt>Fixed share</dt>
                <dd data-testid="fixed-share">{answer.data.fixed_share === null ? "–" : formatPercent(answer.data.fixed_share * 100)}</dd>
              </div>
              <div>
                <dt>Elasticity</dt>
                <dd data-testid="elasticity">{number(answer.data.elasticity)}</dd>
              </div>
              <div>
                <dt>Pearson correlation</dt>
                <dd data-testid="pearson">{number(answer.data.pearson)}</dd>
              </div>
              <div>
                <dt>Fit</dt>
                <dd data-testid="fit">
                  {answer.data.fit?.intercept != null && answer.data.fit.slope !== null
                    ? `cost = ${formatMoney(answer.data.fit.intercept, currency)} ${answer.data.fit.slope < 0 ? "−" : "+"} ${Math.abs(answer.data.fit.slope).toPrecision(4)} × ${answer.data.driver}` +
                      (answer.data.fit.r_squared !== null ? ` (R² ${answer.data.fit.r_squared.toFixed(2)})` : "")
                    : "–"}
                </dd>
              </div>
            </dl>
            <p data-testid="correlation-explanation">{answer.data.explanation}</p>
            <p className="help">
              {answer.data.days} days in {answer.data.currency ?? "–"}
              {answer.data.other_currencies.length > 0 && `; cost in ${answer.data.other_currencies.join(", ")} is left out`}.
            </p>
          </figcaption>
        </figure>
      )}
    </section>
  );
}
