// Deploys as CD pipelines reported them (GET /v1/deployments), each with the step it made in its scope's hourly
// cost: the gateway compares the whole hours after the deploy's hour with as many before it (cost_step).
import { useQuery } from "@tanstack/react-query";
import type { ApiClient, Deployment, Me } from "./api";
import { Table } from "./Controls";
import { lacks } from "./roles";
import { formatMoney, toNanos } from "./shape";
import { Empty, Failure, Loading, NotAllowed } from "./States";

const MINUTE = 60_000;

/** "+$365.00", "−$12.40" or "$0.00": a change in cost with its sign. */
export function signedMoney(amount: string, currency: string): string {
  const nanos = toNanos(amount);
  const text = formatMoney(nanos < 0n ? -nanos : nanos, currency);
  return nanos > 0n ? `+${text}` : nanos < 0n ? `−${text}` : text;
}

/** How settled a step is: the window's hours, or how many of them have passed so far. */
export function stepStatus(step: NonNullable<Deployment["cost_step"]>): string {
  const kind = step.cost_kind === "billed" ? "billed" : "live estimate";
  return step.settled ? `${step.window_hours} h each side, ${kind}` : `settling: ${step.hours_after} of ${step.window_hours} h after, ${kind}`;
}

export function RecordedDeployments({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const denied = lacks(me?.scopes, "read:costs");
  const deploys = useQuery({ queryKey: ["deployments"], queryFn: () => client.deployments(), enabled: !denied, refetchInterval: MINUTE });
  return (
    <section aria-labelledby="deployments-title" data-testid="deployments">
      <h3 id="deployments-title">Cost per deployment</h3>
      <p className="help">
        Deploys your pipelines reported, each with the step it made in the cost of what it deployed: the mean hourly cost
        of the hours after the deploy's hour against as many hours before it (while settling, the hours so far against the
        same hours a day earlier); per month is the change over 730 hours.
      </p>
      {denied ? (
        <NotAllowed reason={denied} />
      ) : deploys.isPending ? (
        <Loading what="deployments" />
      ) : deploys.isError ? (
        <Failure what="deployments" error={deploys.error} retry={() => void deploys.refetch()} />
      ) : deploys.data.deployments.length === 0 ? (
        <Empty>
          No deploy reported yet: a pipeline reports one with <code>POST /v1/deployments</code> (a key with the{" "}
          <code>write:deployments</code> scope); the steps found in cost below stand in meanwhile.
        </Empty>
      ) : (
        <Table caption="Deployments and the step each made in cost" head={["When (UTC)", "Scope", "Version", "Per hour before", "Per hour after", "Per month", "Measured on"]} testId="deployments-table" numeric={[3, 4, 5]}>
          {deploys.data.deployments.map((d) => {
            const step = d.cost_step;
            const change = step ? toNanos(step.monthly_change) : 0n;
            return (
              <tr key={d.deployment_id}>
                <td>{d.deployed_at.slice(0, 16).replace("T", " ")}</td>
                <th scope="row">{d.scope}</th>
                <td>{d.url ? <a href={d.url} rel="noopener noreferrer">{d.version}</a> : d.version}</td>
                <td className="num">{step ? formatMoney(step.hourly_before, step.currency) : "–"}</td>
                <td className="num">{step ? formatMoney(step.hourly_after, step.currency) : "–"}</td>
                <td className={`num ${change > 0n ? "up" : change < 0n ? "down" : ""}`}>{step ? signedMoney(step.monthly_change, step.currency) : "–"}</td>
                <td>{step ? stepStatus(step) : "not yet: no whole hour after the deploy has passed"}</td>
              </tr>
            );
          })}
        </Table>
      )}
    </section>
  );
}
