/** The text of each CodeLens: a block's monthly cost and its change against the last committed version. */

import type { SourceBlock } from "./blocks";
import { Dec, sum } from "./decimal";
import { type Estimate, hasUnknownUsage, type ResourceCost } from "./estimate";
import { money, signedMoney } from "./money";
import { blockKeyOf } from "./sources";

export interface LensModel {
  block: SourceBlock;
  /** The resources of the estimate the block stands for (a `count` gives several, a module all of its own). */
  resources: ResourceCost[];
  monthlyCost: Dec;
  /** null: no committed version to compare with (not a git repository). */
  delta: Dec | null;
  isNew: boolean;
  title: string;
}

export function resourcesByBlock(estimate: Estimate): Map<string, ResourceCost[]> {
  const out = new Map<string, ResourceCost[]>();
  for (const resource of estimate.resources) {
    const key = blockKeyOf(resource.address);
    const list = out.get(key);
    if (list) list.push(resource);
    else out.set(key, [resource]);
  }
  return out;
}

export function lensTitle(
  cost: Dec,
  delta: Dec | null,
  options: { isNew?: boolean; usage?: boolean; count?: number; unpriced?: boolean } = {},
): string {
  let title = `${money(cost)}/mo`;
  if (options.usage) title += " + usage";
  if (delta !== null && options.isNew) title += `, ${signedMoney(delta)} (new)`;
  else if (delta !== null && delta.roundedUnits(2) !== 0n) title += `, ${signedMoney(delta)}`;
  if (options.count !== undefined && options.count > 1) title += ` · ${options.count} instances`;
  if (options.unpriced) title += " · partly unpriced";
  return title;
}

/**
 * One lens per block that has a priced resource in `head` (free and unsupported resources get none). `base` is the
 * estimate of the last committed version (null when there is none to compare with).
 */
export function buildLenses(blocks: SourceBlock[], head: Estimate, base: Estimate | null): LensModel[] {
  const headBy = resourcesByBlock(head);
  const baseBy = base ? resourcesByBlock(base) : null;
  const problemKeys = new Set(head.problems.map((p) => blockKeyOf(p.address)));
  const lenses: LensModel[] = [];
  for (const block of blocks) {
    const resources = headBy.get(block.key) ?? [];
    if (!resources.some((r) => r.status === "priced")) continue;
    const cost = sum(resources.map((r) => r.monthlyCost));
    const before = baseBy?.get(block.key);
    const isNew = baseBy !== null && (before === undefined || before.length === 0);
    const delta = baseBy === null ? null : cost.minus(sum((before ?? []).map((r) => r.monthlyCost)));
    lenses.push({
      block,
      resources,
      monthlyCost: cost,
      delta,
      isNew,
      title: lensTitle(cost, delta, {
        isNew,
        usage: resources.some(hasUnknownUsage),
        count: block.kind === "resource" ? resources.length : undefined,
        unpriced: problemKeys.has(block.key),
      }),
    });
  }
  return lenses;
}
