/**
 * Two estimates compared resource by resource and component by component, as `outlay diff` compares them
 * (outlay/iac/diff.py): resources matched by address, a component's missing cost counted as zero.
 */

import { Dec } from "./decimal";
import { type Estimate, namedComponents, type ResourceCost } from "./estimate";

export type Change = "added" | "removed" | "changed" | "unchanged";

export interface ComponentDelta {
  name: string;
  before: Dec | null;
  after: Dec | null;
  delta: Dec;
}

export interface ResourceDelta {
  address: string;
  type: string;
  before: Dec | null;
  after: Dec | null;
  delta: Dec;
  change: Change;
  components: ComponentDelta[];
}

export interface CostDiff {
  before: Dec;
  after: Dec;
  delta: Dec;
  resources: ResourceDelta[];
}

function componentCosts(resource: ResourceCost | undefined): Map<string, Dec> {
  const costs = new Map<string, Dec>();
  if (resource === undefined) return costs;
  for (const { name, component } of namedComponents(resource)) {
    costs.set(name, (costs.get(name) ?? Dec.ZERO).plus(component.monthlyCost ?? Dec.ZERO));
  }
  return costs;
}

export function diffEstimates(base: Estimate, head: Estimate): CostDiff {
  const before = new Map(base.resources.map((r) => [r.address, r]));
  const after = new Map(head.resources.map((r) => [r.address, r]));
  const addresses = [...before.keys(), ...[...after.keys()].filter((a) => !before.has(a))];
  const resources = addresses.map((address): ResourceDelta => {
    const old = before.get(address);
    const now = after.get(address);
    const oldComponents = componentCosts(old);
    const newComponents = componentCosts(now);
    const names = [...oldComponents.keys(), ...[...newComponents.keys()].filter((n) => !oldComponents.has(n))];
    const components = names.map((name) => {
      const b = oldComponents.get(name) ?? null;
      const a = newComponents.get(name) ?? null;
      return { name, before: b, after: a, delta: (a ?? Dec.ZERO).minus(b ?? Dec.ZERO) };
    });
    const b = old ? old.monthlyCost : null;
    const a = now ? now.monthlyCost : null;
    const delta = (a ?? Dec.ZERO).minus(b ?? Dec.ZERO);
    const change: Change =
      b === null ? "added" : a === null ? "removed" : !delta.isZero() || components.some((c) => !c.delta.isZero()) ? "changed" : "unchanged";
    return { address, type: (now ?? old)?.type ?? "", before: b, after: a, delta, change, components };
  });
  return { before: base.monthlyCost, after: head.monthlyCost, delta: head.monthlyCost.minus(base.monthlyCost), resources };
}

/** The changed resources, largest change first (as `outlay diff` lists them). */
export function changedResources(diff: CostDiff): ResourceDelta[] {
  return diff.resources
    .filter((r) => r.change !== "unchanged")
    .sort((x, y) => {
      const ax = x.delta.isNegative() ? x.delta.negated() : x.delta;
      const ay = y.delta.isNegative() ? y.delta.negated() : y.delta;
      return ay.compare(ax);
    });
}
