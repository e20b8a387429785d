// Anomalies: the list, newest first, and a detail panel with expected vs. actual, root cause, impact and feedback.
import { useEffect, useRef, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { Anomaly, ApiClient, Me, Verdict } from "./api";
import { lacks } from "./roles";
import { Empty, Failure, Loading, NotAllowed, Outcome } from "./States";
import { anomalyBars, describeSeries, VERDICTS } from "./anomalyShape";
import { formatMoney } from "./shape";

export function Anomalies({ client, me }: { client: ApiClient; me?: Me }) {
  const [selected, setSelected] = useState<string | null>(null);
  const readDenied = lacks(me?.scopes, "read:anomalies");
  const list = useQuery({
    enabled: readDenied === null,
    queryKey: ["anomalies"],
    queryFn: () => client.anomalies({ status: "any", limit: 50 }),
    refetchInterval: 60_000,
  });
  const current = list.data?.items.find((a) => a.anomaly_id === selected) ?? null;

  return (
    <section aria-labelledby="anomalies-title">
      <h2 id="anomalies-title">Anomalies</h2>
      {me && readDenied ? (
        <NotAllowed reason={readDenied} />
      ) : list.isPending ? (
        <Loading what="anomalies" />
      ) : list.isError ? (
        <Failure what="anomalies" error={list.error} retry={() => void list.refetch()} />
      ) : list.data.items.length === 0 ? (
        <Empty>No anomalies found. Outlay records one when a cost series leaves its usual range.</Empty>
      ) : (
        <div className="split">
          <div>
            <ul className="anomalies" aria-label="Anomalies, newest first">
              {list.data.items.map((a) => (
                <li key={a.anomaly_id}>
                  <button
                    type="button"
                    aria-pressed={a.anomaly_id === selected}
                    onClick={() => setSelected(a.anomaly_id)}
                  >
                    <span className={`badge ${a.severity}`}>{a.severity}</span> {describeSeries(a)}
                    <span className="help">
                      {a.direction} · {a.status} · {formatMoney(a.impact, a.currency)} · {a.start.slice(0, 16).replace("T", " ")}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
            {list.data.next_cursor && <p className="help">Showing the newest {list.data.items.length}.</p>}
          </div>
          {current ? (
            <Detail key={current.anomaly_id} anomaly={current} client={client} me={me} onClose={() => setSelected(null)} />
          ) : (
            <p className="state">Choose an anomaly to see its detail.</p>
          )}
        </div>
      )}
    </section>
  );
}

function Detail({ anomaly, client, me, onClose }: { anomaly: Anomaly; client: ApiClient; me: Me | undefined; onClose: () => void }) {
  const denied = lacks(me?.scopes, "write:anomalies");
  const queries = useQueryClient();
  const feedback = useMutation({
    mutationFn: (verdict: Verdict) => client.anomalyFeedback(anomaly.anomaly_id, verdict),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["anomalies"] }),
  });
  const heading = useRef<HTMLHeadingElement>(null);
  // Keyboard and small-screen users land on the detail they opened (it sits below the list at 390 px).
  useEffect(() => heading.current?.focus(), [anomaly.anomaly_id]);
  const bars = anomalyBars(anomaly);
  const money = (v: string) => formatMoney(v, anomaly.currency);

  return (
    <article className="detail" aria-labelledby="anomaly-title">
      <header>
        <h3 id="anomaly-title" ref={heading} tabIndex={-1}>{describeSeries(anomaly)}</h3>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </header>
      <p className="help">
        {anomaly.severity} {anomaly.direction}, {anomaly.status}; from {anomaly.start} to {anomaly.end ?? "now"} (score{" "}
        {anomaly.score.toFixed(2)})
      </p>
      <dl className="bars">
        <dt>Expected</dt>
        <dd>
          <span className="track">
            <span className="bar expected" style={{ width: `${bars.expectedPercent}%` }} />
          </span> {money(anomaly.expected_cost)}
        </dd>
        <dt>Actual</dt>
        <dd>
          <span className="track">
            <span className="bar actual" style={{ width: `${bars.actualPercent}%` }} />
          </span> {money(anomaly.actual_cost)}
        </dd>
        <dt>Impact</dt>
        <dd>
          {money(anomaly.impact)}
          {bars.changePercent !== null && ` (${bars.changePercent >= 0 ? "+" : ""}${bars.changePercent.toFixed(0)}%)`}
        </dd>
      </dl>
      <h4>Root cause</h4>
      {anomaly.root_cause.length ? (
        <ul>
          {anomaly.root_cause.map((cause) => (
            <li key={cause}>{cause}</li>
          ))}
        </ul>
      ) : (
        <p className="state empty">No single dimension explains it.</p>
      )}
      <h4>Feedback</h4>
      <p className="help">{anomaly.feedback ? `Given: ${anomaly.feedback.replace("_", " ")}` : "None given yet."}</p>
      <div className="actions" role="group" aria-label="Feedback" aria-describedby={denied ? "feedback-denied" : undefined}>
        {VERDICTS.map((v) => (
          <button
            key={v.verdict}
            type="button"
            disabled={feedback.isPending || denied !== null}
            title={denied ?? undefined}
            aria-pressed={anomaly.feedback === v.verdict}
            onClick={() => feedback.mutate(v.verdict)}
          >
            {v.label}
          </button>
        ))}
      </div>
      {denied && (
        <p id="feedback-denied" className="help" data-testid="not-allowed">
          Feedback: {denied}
        </p>
      )}
      {feedback.isPending && <p className="state" role="status">Sending…</p>}
      {feedback.isError && <Outcome pending={false} error={feedback.error} />}
      {feedback.isSuccess && <p className="state" role="status">Thanks: the detector has the verdict.</p>}
    </article>
  );
}
