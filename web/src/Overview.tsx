// Overview: this month vs. last, daily cost, forecast to month end with its interval, budgets.
import { useEffect, useMemo, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import type { ApiClient, CostForecast, Me } from "./api";
import { lacks } from "./roles";
import { LineChart, type Line } from "./Chart";
import { Empty, Failure, Loading, NotAllowed } from "./States";
import {
  chartSeries,
  dailyCosts,
  formatChange,
  formatMoney,
  mainCurrency,
  monthBounds,
  monthEndForecast,
  monthSummary,
} from "./shape";

export function Overview({ client, me, lastTickAt = null }: { client: ApiClient; me: Me | undefined; lastTickAt?: number | null }) {
  const bounds = useMemo(() => monthBounds(new Date()), []);
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
  const forecasts = useQuery({
    queryKey: ["forecasts", "total"],
    queryFn: () => client.forecasts("total"),
    retry: false,
    enabled: forecastsDenied === null,
  });

  const currency = costs.data ? mainCurrency(costs.data) : null;
  const days = useMemo(() => (costs.data && currency ? dailyCosts(costs.data, currency) : null), [costs.data, currency]);
  const forecast = forecasts.data && currency ? monthEndForecast(forecasts.data.forecasts, currency) : null;

  return (
    <section aria-labelledby="overview-title">
      <h2 id="overview-title">Overview</h2>
      {me && costsDenied ? (
        <NotAllowed reason={`Costs: ${costsDenied}`} />
      ) : costs.isPending ? (
        <Loading what="costs" />
      ) : costs.isError ? (
        <Failure what="costs" error={costs.error} retry={() => void costs.refetch()} />
      ) : currency === null || days === null ? (
        <Empty>No cost recorded last month or this month yet.</Empty>
      ) : (
        <Spend days={days} currency={currency} forecast={forecast} bounds={bounds} />
      )}
      <ForecastCard
        denied={me ? forecastsDenied : null}
        pending={forecasts.isPending}
        error={forecasts.isError ? forecasts.error : null}
        forecast={forecast}
        currency={currency}
      />
      <Budgets client={client} me={me} />
    </section>
  );
}

function Spend({ days, currency, forecast, bounds }: {
  days: Map<string, bigint>;
  currency: string;
  forecast: CostForecast | null;
  bounds: ReturnType<typeof monthBounds>;
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
      <h3>Daily cost ({currency})</h3>
      <LineChart
        x={series.dayOfMonth}
        lines={lines}
        format={format}
        title={`Daily cost this month against last month, in ${currency}. This month to date ${money(summary.thisMonthToDate)}, last month ${money(summary.lastMonthTotal)}.`}
      />
    </>
  );
}

function ForecastCard({ denied, pending, error, forecast, currency }: {
  denied: string | null;
  pending: boolean;
  error: unknown;
  forecast: CostForecast | null;
  currency: string | null;
}) {
  let body: ReactNode;
  if (denied) body = <NotAllowed reason={denied} />;
  else if (pending) body = <Loading what="the forecast" />;
  else if (error || !forecast || !currency) {
    body = (
      <p className="state unavailable">
        Forecast unavailable
        {error instanceof Error ? `: ${error.message}` : forecast ? "" : " for this currency yet"}.
      </p>
    );
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
                      : "Status unavailable (the forecast service did not answer)."}
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
