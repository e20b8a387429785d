// Overview: this month vs. last, daily cost over a chosen range, forecast to month end with its interval, budgets,
// savings achieved and available, and the top movers between the chosen range and the one before it.
import { useEffect, useId, useMemo, useState, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import { ApiError, type ApiClient, type CostForecast, type Me } from "./api";
import { lacks } from "./roles";
import { LineChart, type Line } from "./Chart";
import { Empty, Failure, Loading, NotAllowed } from "./States";
import { Select, Table } from "./Controls";
import {
  chartSeries,
  groupTotals,
  periodSeries,
  rangeBounds,
  topMovers,
  type Period,
  type RangeBounds,
  type RangeKind,
  dailyCosts,
  formatChange,
  formatMoney,
  mainCurrency,
  monthBounds,
  monthEndForecast,
  monthSummary,
  sumDays,
  toNanos,
} from "./shape";

const RANGES: { value: RangeKind; label: string }[] = [
  { value: "month", label: "This month" },
  { value: "30d", label: "Last 30 days" },
  { value: "90d", label: "Last 90 days" },
  { value: "custom", label: "Custom" },
];

export function Overview({ client, me, lastTickAt = null }: { client: ApiClient; me: Me | undefined; lastTickAt?: number | null }) {
  const bounds = useMemo(() => monthBounds(new Date()), []);
  const [kind, setKind] = useState<RangeKind>("month");
  const [custom, setCustom] = useState({ start: bounds.thisStart, end: bounds.today });
  const range = useMemo(() => rangeBounds(kind, bounds, custom), [kind, bounds, custom]);
  // Only what the key may read is asked for (a refused request would be a console error); the scopes come first.
  const costsDenied = lacks(me?.scopes, "read:costs");
  const forecastsDenied = lacks(me?.scopes, "read:forecasts");
  const costs = useQuery({
    enabled: costsDenied === null,
    queryKey: ["costs", bounds.lastStart, bounds.nextStart],
    queryFn: () => client.costs({ start: bounds.lastStart, end: bounds.nextStart, granularity: "day" }),
    // While the stream delivers minutes, each one refreshes the figures (the gateway caches the answer); else poll.
    refetchInterval: lastTickAt === null ? 60_000 : false,
  });
  const { refetch } = costs;
  useEffect(() => {
    if (lastTickAt !== null) void refetch();
  }, [lastTickAt, refetch]);
  const currency = costs.data ? mainCurrency(costs.data) : null;
  // Asked once there is cost to forecast: a scope without cost history is a 404 (a console error), not an answer.
  const forecasts = useQuery({
    queryKey: ["forecasts", "total"],
    queryFn: () => client.forecasts("total"),
    retry: false,
    enabled: forecastsDenied === null && currency !== null,
  });
  const days = useMemo(() => (costs.data && currency ? dailyCosts(costs.data, currency) : null), [costs.data, currency]);
  const forecast = forecasts.data && currency ? monthEndForecast(forecasts.data.forecasts, currency) : null;

  return (
    <section aria-labelledby="overview-title">
      <h2 id="overview-title">Overview</h2>
      <RangePicker kind={kind} onKind={setKind} custom={custom} onCustom={setCustom} range={range} today={bounds.today} />
      {me && costsDenied ? (
        <NotAllowed reason={`Costs: ${costsDenied}`} />
      ) : costs.isPending ? (
        <Loading what="costs" />
      ) : costs.isError ? (
        <Failure what="costs" error={costs.error} retry={() => void costs.refetch()} />
      ) : currency === null || days === null ? (
        <Empty>No cost recorded last month or this month yet.</Empty>
      ) : (
        <Spend days={days} currency={currency} forecast={forecast} bounds={bounds} monthChart={kind === "month"} />
      )}
      {kind !== "month" && range && costsDenied === null && currency !== null && (
        <RangeChart client={client} range={range} currency={currency} />
      )}
      <ForecastCard
        denied={me ? (forecastsDenied ?? (costsDenied ? `The forecast is read against the costs: ${costsDenied}` : null)) : null}
        costs={costs.isPending ? "pending" : costs.isError ? "failed" : currency === null ? "none" : "ready"}
        pending={forecasts.isPending}
        error={forecasts.isError ? forecasts.error : null}
        retry={() => void forecasts.refetch()}
        forecast={forecast}
        currency={currency}
      />
      <Budgets client={client} me={me} />
      <SavingsCard client={client} me={me} />
      <Movers client={client} me={me} range={range} />
    </section>
  );
}

function Spend({ days, currency, forecast, bounds, monthChart }: {
  days: Map<string, bigint>;
  currency: string;
  forecast: CostForecast | null;
  bounds: ReturnType<typeof monthBounds>;
  monthChart: boolean; // the daily chart of this month against last month (the range "This month")
}) {
  const summary = monthSummary(days, bounds);
  const money = (n: bigint) => formatMoney(n, currency);
  const series = useMemo(() => chartSeries(days, bounds, forecast ?? undefined), [days, bounds, forecast]);
  const lines = useMemo<Line[]>(() => {
    const all: Line[] = [
      { label: "This month", values: series.thisMonth, color: "#2563eb" },
      { label: "Last month", values: series.lastMonth, color: "#9ca3af" },
    ];
    if (series.forecast.some((v) => v !== null)) {
      all.push({ label: "Forecast", values: series.forecast, color: "#2563eb", dash: [6, 4] });
    }
    return all;
  }, [series]);
  const format = useMemo(() => (v: number) => new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(v), []);

  return (
    <>
      <div className="cards">
        <article className="card">
          <h3>This month to date</h3>
          <p className="figure">{money(summary.thisMonthToDate)}</p>
          <p className="help">
            {formatChange(summary.change)} vs. the same days last month ({money(summary.lastMonthToSameDay)})
          </p>
        </article>
        <article className="card">
          <h3>Last month</h3>
          <p className="figure">{money(summary.lastMonthTotal)}</p>
        </article>
      </div>
      {monthChart && (
        <>
          <h3>Daily cost ({currency})</h3>
          <LineChart
            x={series.dayOfMonth}
            lines={lines}
            format={format}
            title={`Daily cost this month against last month, in ${currency}. This month to date ${money(summary.thisMonthToDate)}, last month ${money(summary.lastMonthTotal)}.`}
          />
        </>
      )}
    </>
  );
}

function ForecastCard({ denied, costs, pending, error, retry, forecast, currency }: {
  denied: string | null;
  costs: "pending" | "failed" | "none" | "ready"; // the forecast is asked once the costs have a currency
  pending: boolean;
  error: unknown;
  retry: () => void;
  forecast: CostForecast | null;
  currency: string | null;
}) {
  let body: ReactNode;
  if (denied) body = <NotAllowed reason={denied} />;
  else if (costs === "failed") body = <p className="state unavailable">No forecast without the costs (they could not be loaded).</p>;
  else if (costs === "none") body = <Empty>No forecast yet: the forecast needs cost history.</Empty>;
  else if (costs === "pending" || pending) body = <Loading what="the forecast" />;
  else if (error && !(error instanceof ApiError && error.status === 404)) body = <Failure what="the forecast" error={error} retry={retry} />;
  else if (!forecast || !currency) {
    body = <Empty>No forecast {currency ? `in ${currency} ` : ""}yet: the forecast needs a few days of cost.</Empty>;
  } else {
    const m = forecast.month_end;
    const money = (v: string) => formatMoney(v, currency);
    body = (
      <>
        <p className="figure">{money(m.expected)}</p>
        <p className="help">
          80% interval {money(m.lower80)} – {money(m.upper80)}; 95% {money(m.lower95)} – {money(m.upper95)}
          {forecast.short_history && " (short history: wide on purpose)"}
        </p>
      </>
    );
  }
  return (
    <article className="card wide">
      <h3>Forecast to month end</h3>
      {body}
    </article>
  );
}

function Budgets({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const denied = lacks(me?.scopes, "read:budgets");
  const budgets = useQuery({ queryKey: ["budgets"], queryFn: () => client.budgets(), enabled: denied === null });
  const variance = useQuery({
    queryKey: ["budgets", "variance"],
    queryFn: () => client.budgetVariance(),
    retry: false,
    enabled: denied === null,
  });
  const statusOf = new Map((variance.data?.budgets ?? []).map((s) => [s.budget_id, s]));

  return (
    <section aria-labelledby="budgets-title">
      <h3 id="budgets-title">Budgets</h3>
      {me && denied ? (
        <NotAllowed reason={denied} />
      ) : budgets.isPending ? (
        <Loading what="budgets" />
      ) : budgets.isError ? (
        <Failure what="budgets" error={budgets.error} retry={() => void budgets.refetch()} />
      ) : budgets.data.budgets.length === 0 ? (
        <Empty>No budgets yet (POST /v1/budgets makes one).</Empty>
      ) : (
        <>
          {variance.isError && (
            <Failure what="the budgets' status (GET /v1/budgets/variance)" error={variance.error} retry={() => void variance.refetch()} />
          )}
          <ul className="budgets">
            {budgets.data.budgets.map((b) => {
              const status = statusOf.get(b.budget_id);
              const over = status?.variance ? !status.variance.startsWith("-") && Number(status.variance) > 0 : false;
              return (
                <li key={b.budget_id} className={over ? "over" : undefined}>
                  <strong>{b.name}</strong> <span className="help">{b.scope}, {b.period}</span>
                  <span>
                    {status ? `${formatMoney(status.actual_to_date, b.currency)} of ` : ""}
                    {formatMoney(b.amount, b.currency)}
                  </span>
                  <span className="help">
                    {status
                      ? status.summary
                      : variance.isPending
                        ? "Loading status…"
                        : variance.isError
                          ? "Status unavailable."
                          : "No status yet."}
                  </span>
                </li>
              );
            })}
          </ul>
        </>
      )}
    </section>
  );
}

const compact = (v: number) => new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 }).format(v);

/** The range the daily chart and the movers show: a preset, or a custom start–end (both days included). */
function RangePicker({ kind, onKind, custom, onCustom, range, today }: {
  kind: RangeKind;
  onKind: (kind: RangeKind) => void;
  custom: { start: string; end: string };
  onCustom: (custom: { start: string; end: string }) => void;
  range: RangeBounds | null;
  today: string;
}) {
  const id = useId();
  return (
    <div className="range" role="group" aria-label="Time range" data-testid="overview-range">
      <Select label="Range" value={kind} options={RANGES} onChange={onKind} testId="overview-range-select" />
      {kind === "custom" && (
        <>
          <span className="field-inline">
            <label htmlFor={`${id}-start`}>From</label>
            <input id={`${id}-start`} type="date" max={today} value={custom.start} data-testid="overview-range-start"
              onChange={(e) => onCustom({ ...custom, start: e.target.value })} />
          </span>
          <span className="field-inline">
            <label htmlFor={`${id}-end`}>To</label>
            <input id={`${id}-end`} type="date" max={today} value={custom.end} data-testid="overview-range-end"
              onChange={(e) => onCustom({ ...custom, end: e.target.value })} />
          </span>
        </>
      )}
      <p className="help" role="status" aria-live="polite" data-testid="overview-range-label">
        {range ? `Showing ${range.label}` : "Choose a start day on or before today and an end day on or after it."}
      </p>
    </div>
  );
}

/** Daily cost over a range other than this month, against the period before it (aligned by day). */
function RangeChart({ client, range, currency }: { client: ApiClient; range: RangeBounds; currency: string }) {
  const { current, previous } = range;
  const whole: Period = { start: previous.start, end: current.end };
  const costs = useQuery({
    queryKey: ["costs", whole.start, whole.end],
    queryFn: () => client.costs({ start: whole.start, end: whole.end, granularity: "day" }),
  });
  const lines = useMemo<{ x: number[]; lines: Line[]; total: bigint } | null>(() => {
    if (!costs.data) return null;
    const days = dailyCosts(costs.data, currency);
    const now = periodSeries(days, current);
    const before = periodSeries(days, previous);
    return {
      total: sumDays(days, current.start, current.end),
      x: now.x,
      lines: [
        { label: "Selected period", values: now.values, color: "#2563eb" },
        { label: "Period before", values: now.x.map((_, i) => before.values[i] ?? null), color: "#9ca3af" },
      ],
    };
  }, [costs.data, currency, current, previous]);
  if (costs.isPending) return <Loading what="the daily cost" />;
  if (costs.isError) return <Failure what="the daily cost" error={costs.error} retry={() => void costs.refetch()} />;
  if (!lines) return null;
  return (
    <>
      <h3>Daily cost ({currency})</h3>
      <LineChart
        x={lines.x}
        lines={lines.lines}
        format={compact}
        axisLabel="Day of the range"
        title={`Daily cost ${range.label} against the period before, in ${currency}. Total ${formatMoney(lines.total, currency)}.`}
      />
    </>
  );
}

/** Savings achieved (applied plans: as planned, and measured from the ledger) and available (open plans). */
function SavingsCard({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const denied = lacks(me?.scopes, "read:plans");
  const savings = useQuery({ queryKey: ["savings"], queryFn: () => client.savings(), enabled: denied === null });
  let body: ReactNode;
  if (me && denied) body = <NotAllowed reason={denied} />;
  else if (savings.isPending) body = <Loading what="the savings" />;
  else if (savings.isError) body = <Failure what="the savings" error={savings.error} retry={() => void savings.refetch()} />;
  else if (!savings.data.applied_plans && !savings.data.available_plans && toNanos(savings.data.recommended_monthly) === 0n) {
    body = <Empty>No savings yet: no plan applied, none open, and no recommendation from the optimizer&apos;s latest scan.</Empty>;
  } else {
    const s = savings.data;
    const money = (v: string) => formatMoney(v, s.currency);
    body = (
      <dl className="savings">
        <div>
          <dt>Achieved a month</dt>
          <dd>
            <span className="figure" data-testid="savings-achieved">{money(s.achieved_monthly)}</span>
            <span className="help">
              {s.applied_plans} applied plan(s); measured {money(s.measured_monthly)} from {s.measured_plans}
            </span>
          </dd>
        </div>
        <div>
          <dt>Available a month</dt>
          <dd>
            <span className="figure" data-testid="savings-available">{money(s.available_monthly)}</span>
            <span className="help">
              {s.available_plans} open plan(s); {money(s.recommended_monthly)} in every recommendation
            </span>
          </dd>
        </div>
      </dl>
    );
  }
  return (
    <article className="card wide" data-testid="overview-savings">
      <h3>Savings</h3>
      {body}
    </article>
  );
}

type MoverDimension = "service" | "tag:team";
const MOVER_DIMENSIONS: { value: MoverDimension; label: string }[] = [
  { value: "service", label: "Service" },
  { value: "tag:team", label: "Team" },
];

const MOVER_COLUMNS = ["This period", "Period before", "Change", "%"] as const;

/** The services (or teams) whose cost grew or fell most between the range and the period before it. */
function Movers({ client, me, range }: { client: ApiClient; me: Me | undefined; range: RangeBounds | null }) {
  const denied = lacks(me?.scopes, "read:costs");
  const [dimension, setDimension] = useState<MoverDimension>("service");
  const ask = (period: Period | undefined) => ({
    queryKey: ["costs", period?.start, period?.end, dimension],
    queryFn: () => client.costs({ start: period?.start ?? "", end: period?.end ?? "", granularity: "day" as const, group_by: [dimension] }),
    enabled: denied === null && period !== undefined && period.start < period.end,
  });
  const now = useQuery(ask(range?.current));
  const before = useQuery(ask(range?.previous));
  const movers = useMemo(() => {
    if (!now.data || !before.data) return null;
    const currency = mainCurrency(now.data) ?? mainCurrency(before.data);
    if (!currency) return { currency: null, rows: [] };
    return { currency, rows: topMovers(groupTotals(now.data, currency, dimension), groupTotals(before.data, currency, dimension)) };
  }, [now.data, before.data, dimension]);
  const noun = dimension === "service" ? "Service" : "Team";

  let body: ReactNode;
  if (me && denied) body = <NotAllowed reason={`Costs: ${denied}`} />;
  else if (!range) body = <Empty>Choose a valid range to compare.</Empty>;
  else if (now.isError || before.isError) {
    const failed = now.isError ? now : before;
    body = <Failure what="the movers" error={failed.error} retry={() => void failed.refetch()} />;
  } else if (!movers) body = <Loading what="the movers" />;
  else if (!movers.currency || movers.rows.length === 0) body = <Empty>No {noun.toLowerCase()} cost changed between the two periods.</Empty>;
  else {
    const currency = movers.currency;
    body = (
      <Table caption={`Top movers by ${noun.toLowerCase()}, ${range.label} against the period before, in ${currency}`}
        head={[noun, ...MOVER_COLUMNS]} numeric={[1, 2, 3, 4]} testId="top-movers-table" stacked>
        {movers.rows.map((m) => (
          <tr key={m.name} className={m.change > 0n ? "up" : "down"}>
            <th scope="row">{m.name}</th>
            <td className="num" data-label={MOVER_COLUMNS[0]}>{formatMoney(m.current, currency)}</td>
            <td className="num" data-label={MOVER_COLUMNS[1]}>{formatMoney(m.previous, currency)}</td>
            <td className="num" data-label={MOVER_COLUMNS[2]}>{m.change > 0n ? "+" : ""}{formatMoney(m.change, currency)}</td>
            <td className="num" data-label={MOVER_COLUMNS[3]}>{m.status === "new" ? "new" : formatChange(m.percent)}</td>
          </tr>
        ))}
      </Table>
    );
  }
  return (
    <section aria-labelledby="movers-title" data-testid="top-movers">
      <h3 id="movers-title">Top movers</h3>
      <Select label="By" value={dimension} options={MOVER_DIMENSIONS} onChange={setDimension} testId="top-movers-by" />
      {body}
    </section>
  );
}
