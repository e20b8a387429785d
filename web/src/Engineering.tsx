// Engineering: live cost per service (WS /v1/stream, else polling) / team / environment, steps in cost (likely
// deployments), the resource efficiency score, recommendations with their plans' approval actions, and the cost of
// recent pull requests as CI reported it (GET /v1/iac/estimates).
import { useEffect, useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ApiClient, IacEstimate, Me, Plan, Recommendation } from "./api";
import { ActionButton, Select, Table } from "./Controls";
import { RecordedDeployments } from "./Deployments";
import { allocation, currenciesOf, detectSteps, efficiencyScore, environmentKey, groupSeries, hourlyPoints, type Step } from "./groups";
import { lacks, planActions } from "./roles";
import { dailyCosts, formatMoney, mainCurrency, sumDays, toNanos } from "./shape";
import { Empty, Failure, Loading, NotAllowed, Outcome } from "./States";
import { applyTicks, liveCurrencies, liveSummary, ticksFromCosts, type LiveCosts } from "./stream";
import type { LiveStream } from "./useLiveStream";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const floorTo = (ms: number, step: number) => Math.floor(ms / step) * step;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

export function Engineering({ client, me, live }: { client: ApiClient; me: Me | undefined; live: LiveStream }) {
  const costsDenied = lacks(me?.scopes, "read:costs");
  return (
    <section aria-labelledby="engineering-title">
      <h2 id="engineering-title">Engineering</h2>
      {costsDenied ? (
        <NotAllowed reason={`Live cost, steps and efficiency: ${costsDenied}`} />
      ) : (
        <>
          <LiveCost client={client} live={live} />
          <RecordedDeployments client={client} me={me} />
          <CostSteps client={client} />
          <Efficiency client={client} me={me} />
        </>
      )}
      <PullRequestCosts client={client} me={me} />
      <Recommendations client={client} me={me} />
    </section>
  );
}

const VERDICTS: Record<IacEstimate["verdict"], string> = { passed: "gate passed", failed: "gate failed", none: "not gated" };

/** What recent pull requests change in monthly cost, as `outlay report-estimate` reported it from CI. */
function PullRequestCosts({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const denied = lacks(me?.scopes, "read:costs");
  const reports = useQuery({ queryKey: ["iac-estimates"], queryFn: () => client.iacEstimates(), enabled: !denied, refetchInterval: MINUTE });
  return (
    <section aria-labelledby="iac-estimates-title" data-testid="iac-estimates">
      <h3 id="iac-estimates-title">Cost of recent pull requests</h3>
      {denied ? (
        <NotAllowed reason={denied} />
      ) : reports.isPending ? (
        <Loading what="the cost of recent pull requests" />
      ) : reports.isError ? (
        <Failure what="the cost of recent pull requests" error={reports.error} retry={() => void reports.refetch()} />
      ) : reports.data.estimates.length === 0 ? (
        <Empty>
          No pull request reported yet: CI reports one with <code>outlay report-estimate</code> (a key with the <code>write:estimates</code> scope).
        </Empty>
      ) : (
        <Table caption="Monthly cost change per pull request" head={["Repository", "Pull request", "Per month", "Verdict", "Reported (UTC)"]} testId="iac-estimates-table" numeric={[2]}>
          {reports.data.estimates.map((e) => {
            const change = e.pull_request !== null ? `#${e.pull_request}` : (e.ref ?? e.commit_sha.slice(0, 12));
            const label = `${change}${e.title ? ` ${e.title}` : ""}`;
            const delta = toNanos(e.monthly_delta);
            return (
              <tr key={e.estimate_id}>
                <th scope="row">{e.repository}</th>
                <td>
                  {e.url ? <a href={e.url} rel="noopener noreferrer">{label}</a> : label}{" "}
                  <span className="help">({e.commit_sha.slice(0, 7)})</span>
                </td>
                <td className={`num ${delta > 0n ? "up" : delta < 0n ? "down" : ""}`}>
                  {delta > 0n ? "+" : ""}
                  {formatMoney(e.monthly_delta, "USD")}
                </td>
                <td>
                  <span className={`badge verdict ${e.verdict}`}>{VERDICTS[e.verdict]}</span>
                </td>
                <td>{e.reported_at.slice(0, 16).replace("T", " ")}</td>
              </tr>
            );
          })}
        </Table>
      )}
    </section>
  );
}

/** The last hour: ?granularity=minute from the hour before the current minute to the next one. */
function lastHour(now: number) {
  const end = floorTo(now, MINUTE) + MINUTE;
  return { start: iso(end - 60 * MINUTE), end: iso(end) };
}

function LiveCost({ client, live }: { client: ApiClient; live: LiveStream }) {
  const streaming = live.status === "live";
  // The last hour by service: the base the stream's ticks land on; polled each minute when the stream is down.
  const base = useQuery({
    queryKey: ["live", "service"],
    queryFn: () => client.costs({ ...lastHour(Date.now()), granularity: "minute", group_by: ["service"] }),
    refetchInterval: streaming ? false : MINUTE,
  });
  // After a reconnect, the minutes missed meanwhile come from the API once.
  const { refetch } = base;
  useEffect(() => {
    if (streaming) void refetch();
  }, [streaming, refetch]);
  const state: LiveCosts = useMemo(
    () => applyTicks(applyTicks(new Map(), base.data ? ticksFromCosts(base.data) : []), [...live.ticks.values()]),
    [base.data, live.ticks],
  );
  const currencies = liveCurrencies(state);
  const [chosen, setChosen] = useState<string | null>(null);
  const currency = chosen && currencies.includes(chosen) ? chosen : (currencies[0] ?? null);
  const summary = currency ? liveSummary(state, currency) : null;
  const money = (n: bigint) => (currency ? formatMoney(n, currency) : "");

  return (
    <section aria-labelledby="live-title">
      <h3 id="live-title">Live cost</h3>
      <p className="help" data-testid="live-source">
        {streaming
          ? "Updating each minute over the live stream."
          : live.status === "refused"
            ? `The live stream refused this key (${live.detail ?? "no reason given"}); polling each minute instead.`
            : `The live stream is ${live.status === "reconnecting" ? `reconnecting (${live.detail ?? ""})` : "not connected"}; polling each minute instead.`}
      </p>
      {base.isPending ? (
        <Loading what="the last hour's cost" />
      ) : base.isError && !summary ? (
        <Failure what="the last hour's cost" error={base.error} retry={() => void base.refetch()} />
      ) : !summary || !currency ? (
        <Empty>No cost in the last hour: live data arrives from metering or the demo generator each minute.</Empty>
      ) : (
        <>
          {currencies.length > 1 && (
            <Select label="Currency" value={currency} options={currencies.map((c) => ({ value: c, label: c }))} onChange={setChosen} />
          )}
          <div className="cards">
            <article className="card" data-testid="live-total">
              <h4>Now, per hour</h4>
              <p className="figure" data-testid="live-rate">{money(summary.total.perHour)}</p>
              <p className="help">
                Minute of {summary.minute ? summary.minute.slice(11, 16) : "–"} UTC: {money(summary.total.lastMinute)}
              </p>
            </article>
            <article className="card">
              <h4>Last 60 minutes</h4>
              <p className="figure" data-testid="live-hour">{money(summary.total.lastHour)}</p>
            </article>
          </div>
          <h4>Per service</h4>
          <Table caption="Live cost per service" head={["Service", "Per hour now", "Last minute", "Last 60 minutes"]} testId="live-services" numeric={[1, 2, 3]}>
            {summary.services.map((s) => (
              <tr key={s.service}>
                <th scope="row">{s.service}</th>
                <td className="num">{money(s.perHour)}</td>
                <td className="num">{money(s.lastMinute)}</td>
                <td className="num">{money(s.lastHour)}</td>
              </tr>
            ))}
          </Table>
        </>
      )}
      <LiveByTag client={client} />
    </section>
  );
}

/** Team and environment: the stream's ticks are per service only, so these are polled each minute. */
function LiveByTag({ client }: { client: ApiClient }) {
  const dims = useQuery({
    queryKey: ["dimensions", "recent"],
    queryFn: () => {
      const today = floorTo(Date.now(), 86_400_000);
      return client.dimensions(iso(today - 6 * 86_400_000).slice(0, 10), iso(today + 86_400_000).slice(0, 10));
    },
    staleTime: 10 * MINUTE,
  });
  if (dims.isPending) return <Loading what="the tag keys" />;
  if (dims.isError) return <Failure what="the tag keys" error={dims.error} retry={() => void dims.refetch()} />;
  const env = environmentKey(dims.data.tags);
  return (
    <div className="split even">
      {"team" in dims.data.tags ? (
        <TagHour client={client} tagKey="team" title="Per team" />
      ) : (
        <Empty>No cost carries a team tag yet.</Empty>
      )}
      {env ? <TagHour client={client} tagKey={env} title="Per environment" /> : <Empty>No cost carries an env or environment tag yet.</Empty>}
    </div>
  );
}

function TagHour({ client, tagKey, title }: { client: ApiClient; tagKey: string; title: string }) {
  const key = `tag:${tagKey}`;
  const hour = useQuery({
    queryKey: ["live", key],
    queryFn: () => client.costs({ ...lastHour(Date.now()), granularity: "minute", group_by: [key] }),
    refetchInterval: MINUTE,
  });
  const currency = hour.data ? (currenciesOf(hour.data)[0] ?? null) : null;
  const shares = hour.data && currency ? allocation(hour.data, key, currency) : null;
  return (
    <div>
      <h4>
        {title} <span className="help">(tag {tagKey}, last 60 minutes)</span>
      </h4>
      {hour.isPending ? (
        <Loading what={`cost per ${tagKey}`} />
      ) : hour.isError ? (
        <Failure what={`cost per ${tagKey}`} error={hour.error} retry={() => void hour.refetch()} />
      ) : !shares || !currency || !shares.rows.length ? (
        <Empty>No cost in the last hour.</Empty>
      ) : (
        <Table caption={`Live cost per ${tagKey}`} head={[tagKey, "Last 60 minutes", "Share"]} testId={`live-${tagKey}`} numeric={[1, 2]}>
          {shares.rows.map((r) => (
            <tr key={r.value}>
              <th scope="row">{r.value}</th>
              <td className="num">{formatMoney(r.cost, currency)}</td>
              <td className="num">{r.share.toFixed(1)}%</td>
            </tr>
          ))}
        </Table>
      )}
    </div>
  );
}

function CostSteps({ client }: { client: ApiClient }) {
  // Whole hours only: the current hour is still filling.
  const [range] = useState(() => {
    const end = floorTo(Date.now(), HOUR);
    // Two weeks and a day: a week of history to compare with, for the steps of the last week.
    return { start: iso(end - 15 * 24 * HOUR), end: iso(end) };
  });
  const hourly = useQuery({
    queryKey: ["costs", "hourly-by-service", range.start],
    queryFn: () => client.costs({ ...range, granularity: "hour", group_by: ["service"] }),
    staleTime: 10 * MINUTE,
  });
  const steps = useMemo(() => {
    if (!hourly.data) return null;
    const currency = currenciesOf(hourly.data)[0];
    if (!currency) return { currency: "USD", steps: [] as (Step & { service: string })[] };
    const found: (Step & { service: string })[] = [];
    for (const [service, buckets] of groupSeries(hourly.data, "service", currency)) {
      for (const step of detectSteps(hourlyPoints(buckets, range.start, range.end))) found.push({ ...step, service });
    }
    found.sort((a, b) => b.at.localeCompare(a.at));
    return { currency, steps: found };
  }, [hourly.data, range]);

  return (
    <section aria-labelledby="steps-title">
      <h3 id="steps-title">Steps found in cost</h3>
      <p className="help">
        For deploys no pipeline reported: steps found in each service's hourly cost over the last week, as a
        deployment makes them: hours from which the next 24 hours cost 15% more or less than the same hours a week
        before, while the 24 hours before matched their week-earlier hours (so the daily and weekly rhythms are not
        taken for steps). Before is the cost an hour a week earlier, after the cost an hour now (means over the 24
        hours); per month is the change over 730 hours. With under two weeks of data, the 24 hours before and after
        are compared instead.
      </p>
      {hourly.isPending ? (
        <Loading what="hourly cost" />
      ) : hourly.isError ? (
        <Failure what="hourly cost" error={hourly.error} retry={() => void hourly.refetch()} />
      ) : !steps || !steps.steps.length ? (
        <Empty>No step in any service's cost over the last week.</Empty>
      ) : (
        <Table caption="Steps in cost" head={["When (UTC)", "Service", "Per hour before", "Per hour after", "Per month"]} testId="cost-steps" numeric={[2, 3, 4]}>
          {steps.steps.slice(0, 20).map((s) => (
            <tr key={`${s.service}|${s.at}`}>
              <td>{s.at.slice(0, 16).replace("T", " ")}</td>
              <th scope="row">{s.service}</th>
              <td className="num">{formatMoney(s.before.toFixed(9), steps.currency)}</td>
              <td className="num">{formatMoney(s.after.toFixed(9), steps.currency)}</td>
              <td className={`num ${s.change > 0 ? "up" : "down"}`}>
                {s.change > 0 ? "+" : "−"}
                {formatMoney(Math.abs(s.monthly).toFixed(9), steps.currency)}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}

function Efficiency({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const denied = lacks(me?.scopes, "read:plans");
  const [range] = useState(() => {
    const tomorrow = floorTo(Date.now(), 86_400_000) + 86_400_000;
    return { start: iso(tomorrow - 30 * 86_400_000).slice(0, 10), end: iso(tomorrow).slice(0, 10) };
  });
  const spend = useQuery({
    queryKey: ["costs", "30-days", range.start],
    queryFn: () => client.costs({ ...range, granularity: "day" }),
    enabled: !denied,
  });
  const savings = useQuery({ queryKey: ["savings"], queryFn: () => client.savings(), enabled: !denied });

  let body;
  if (denied) body = <NotAllowed reason={denied} />;
  else if (spend.isPending || savings.isPending) body = <Loading what="the efficiency score" />;
  else if (spend.isError) body = <Failure what="the last 30 days' cost" error={spend.error} retry={() => void spend.refetch()} />;
  else if (savings.isError) body = <Failure what="the savings" error={savings.error} retry={() => void savings.refetch()} />;
  else {
    const currency = mainCurrency(spend.data);
    const month = currency ? sumDays(dailyCosts(spend.data, currency), range.start, range.end) : 0n;
    const score = currency === savings.data.currency ? efficiencyScore(savings.data.recommended_monthly, month) : null;
    body =
      score === null ? (
        <Empty>No score: {currency ? `the spend is in ${currency}, the savings in ${savings.data.currency}` : "no cost in the last 30 days"}.</Empty>
      ) : (
        <>
          <p className="figure" data-testid="efficiency-score">
            {score} / 100
          </p>
          <p className="help">
            100 minus the optimizer's recommended monthly saving ({formatMoney(savings.data.recommended_monthly, savings.data.currency)}) as
            a share of the last 30 days' cost ({formatMoney(month, savings.data.currency)}).
            {toNanos(savings.data.recommended_monthly) === 0n &&
              " No recommendation from the latest scan: the optimizer scans AWS only when regions are configured (OUTLAY_OPTIMIZER_REGIONS)."}
          </p>
          <p className="help">
            Achieved: {formatMoney(savings.data.achieved_monthly, savings.data.currency)} a month from {savings.data.applied_plans} applied
            plan(s); available: {formatMoney(savings.data.available_monthly, savings.data.currency)} in {savings.data.available_plans} open
            plan(s).
          </p>
        </>
      );
  }
  return (
    <section aria-labelledby="efficiency-title">
      <h3 id="efficiency-title">Resource efficiency</h3>
      <article className="card">{body}</article>
    </section>
  );
}

function Recommendations({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const denied = lacks(me?.scopes, "read:plans");
  const recs = useQuery({ queryKey: ["recommendations"], queryFn: () => client.recommendations(), enabled: !denied });
  const plans = useQuery({ queryKey: ["plans"], queryFn: () => client.plans(), enabled: !denied, refetchInterval: MINUTE });
  const planOf = new Map((plans.data?.plans ?? []).map((p) => [p.plan_id, p]));
  const recommended = new Set((recs.data?.recommendations ?? []).map((r) => r.plan_id).filter(Boolean));
  // Plans waiting for a decision, and those decided here (they stay, with the outcome, as their status moves on).
  const [acted, setActed] = useState<ReadonlySet<string>>(new Set());
  const onActed = (planId: string) => setActed((before) => new Set(before).add(planId));
  const openPlans = (plans.data?.plans ?? []).filter((p) => (p.status === "proposed" || acted.has(p.plan_id)) && !recommended.has(p.plan_id));

  return (
    <section aria-labelledby="recommendations-title">
      <h3 id="recommendations-title">Recommendations</h3>
      {denied ? (
        <NotAllowed reason={denied} />
      ) : recs.isPending ? (
        <Loading what="recommendations" />
      ) : recs.isError ? (
        <Failure what="recommendations" error={recs.error} retry={() => void recs.refetch()} />
      ) : (
        <>
          <p className="help">
            Total: {formatMoney(recs.data.total_monthly_saving, recs.data.currency)} a month. Approving a plan applies it (the optimizer runs
            it on a canary first, checks, then the rest, and rolls back on a failed check).
          </p>
          {plans.isError && <Failure what="plans" error={plans.error} retry={() => void plans.refetch()} />}
          {recs.data.recommendations.length === 0 && openPlans.length === 0 ? (
            <Empty>No recommendation from the latest scan.</Empty>
          ) : (
            <ul className="recommendations" data-testid="recommendations">
              {recs.data.recommendations.map((r) => (
                <RecommendationItem key={r.recommendation_id} client={client} me={me} rec={r} currency={recs.data.currency} onActed={onActed} plan={r.plan_id ? planOf.get(r.plan_id) : undefined} />
              ))}
              {openPlans.map((p) => (
                <li key={p.plan_id} className="rec" data-testid="plan">
                  <strong>{p.title}</strong>
                  <span className="help">
                    {formatMoney(p.monthly_saving, p.currency)} a month · {p.risk} risk · {p.region}
                  </span>
                  <PlanActionsRow client={client} me={me} plan={p} onActed={onActed} />
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}

function RecommendationItem({ client, me, rec, plan, currency, onActed }: {
  onActed: (planId: string) => void;
  client: ApiClient;
  me: Me | undefined;
  rec: Recommendation;
  plan: Plan | undefined;
  currency: string;
}) {
  return (
    <li className="rec" data-testid="recommendation">
      <strong>{rec.summary}</strong>
      <span className="help">
        {formatMoney(rec.monthly_saving, currency)} a month · {rec.kind.replace(/_/g, " ")} · {rec.risk} risk · confidence{" "}
        {(rec.confidence * 100).toFixed(0)}% · {rec.resource_id} ({rec.region})
      </span>
      {plan ? (
        <PlanActionsRow client={client} me={me} plan={plan} onActed={onActed} />
      ) : (
        <span className="help">{rec.plan_id ? "Its plan is loading…" : "Not applicable by Outlay yet (no plan): act on it by hand."}</span>
      )}
    </li>
  );
}

function PlanActionsRow({ client, me, plan, onActed }: { client: ApiClient; me: Me | undefined; plan: Plan; onActed: (planId: string) => void }) {
  const queries = useQueryClient();
  const done = () => {
    onActed(plan.plan_id);
    return queries.invalidateQueries({ queryKey: ["plans"] });
  };
  const ask = useMutation({ mutationFn: () => client.requestApproval(plan.plan_id), onSuccess: done });
  const decide = useMutation({
    mutationFn: (decision: "approve" | "reject") => client.decidePlan(plan.plan_id, decision),
    onSuccess: done,
  });
  const allowed = planActions(me, plan);
  const busy = ask.isPending || decide.isPending;
  return (
    <div className="plan-actions" data-testid={`plan-${plan.plan_id}`}>
      <span className="help">
        Plan <span className={`badge plan ${plan.status}`}>{plan.status.replace("_", " ")}</span>
        {plan.requested_by && ` · approval asked by ${plan.requested_by}`}
        {plan.reason && ` · ${plan.reason}`}
      </span>
      <div className="actions" role="group" aria-label={`Decide: ${plan.title}`}>
        <ActionButton label="Request approval" reason={allowed.requestApproval} busy={busy} onClick={() => ask.mutate()} testId="request-approval" />
        <ActionButton label="Approve and apply" reason={allowed.approve} busy={busy} onClick={() => decide.mutate("approve")} testId="approve-plan" />
        <ActionButton label="Reject" reason={allowed.reject} busy={busy} onClick={() => decide.mutate("reject")} testId="reject-plan" />
      </div>
      <Outcome pending={busy} error={ask.error ?? decide.error} done={ask.isSuccess ? "Approval asked for." : decide.isSuccess ? (decide.data?.detail ?? "Sent.") : null} />
    </div>
  );
}
