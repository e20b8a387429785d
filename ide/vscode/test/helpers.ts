/** Estimates for tests, written as the CLI writes them (its JSON schema), so parsing is exercised too. */

import { type Estimate, parseEstimate } from "../src/core/estimate";

export interface ComponentSpec {
  name: string;
  cost: string | null;
  unit?: string;
  quantity?: string | null;
  price?: string | null;
  usage?: boolean;
}

export interface ResourceSpec {
  address: string;
  type?: string;
  status?: "priced" | "free" | "unsupported";
  components?: ComponentSpec[];
  subresources?: { name: string; components: ComponentSpec[] }[];
}

function componentJson(c: ComponentSpec): Record<string, unknown> {
  return {
    name: c.name,
    unit: c.unit ?? "hours",
    monthly_quantity: c.quantity === undefined ? (c.cost === null ? null : "730") : c.quantity,
    unit_price: c.price === undefined ? "0.1" : c.price,
    monthly_cost: c.cost,
    usage_based: c.usage ?? false,
  };
}

export function estimateJson(resources: ResourceSpec[], problems: { address: string; message: string }[] = []): string {
  const total = (specs: ComponentSpec[]): number => specs.reduce((acc, c) => acc + (c.cost === null ? 0 : Number(c.cost)), 0);
  const items = resources.map((r) => {
    const components = r.components ?? [];
    const subs = r.subresources ?? [];
    const cost = total(components) + subs.reduce((acc, s) => acc + total(s.components), 0);
    return {
      address: r.address,
      type: r.type ?? r.address.replace(/^module\.[^.]+\./, "").split(".")[0],
      status: r.status ?? "priced",
      module: null,
      region: "us-east-1",
      action: "create",
      monthly_cost: String(Math.round(cost * 1e6) / 1e6),
      components: components.map(componentJson),
      subresources: subs.map((s) => ({ name: s.name, components: s.components.map(componentJson) })),
      note: null,
    };
  });
  const sum = items.reduce((acc, r) => acc + Number(r.monthly_cost), 0);
  return JSON.stringify({
    schema_version: "1",
    source: "test",
    currency: "USD",
    monthly_cost: String(Math.round(sum * 1e6) / 1e6),
    summary: {},
    resources: items,
    problems,
  });
}

export function estimate(resources: ResourceSpec[], problems: { address: string; message: string }[] = []): Estimate {
  return parseEstimate(estimateJson(resources, problems));
}

export function priced(address: string, cost: string, extra: Partial<ResourceSpec> = {}): ResourceSpec {
  return { address, components: [{ name: "Instance usage", cost }], ...extra };
}

export interface VerdictSpec {
  rule: string;
  passed: boolean;
  message?: string;
  details?: Record<string, unknown>;
}

/** `outlay gate --format json`'s output (gate schema "1", docs/iac.md) for these verdicts. */
export function gateJson(verdicts: VerdictSpec[]): string {
  return JSON.stringify({
    schema_version: "1",
    policy: "outlay-policy.yml",
    passed: verdicts.every((v) => v.passed),
    diff: { base: "nothing (all new)", head: "test", currency: "USD", monthly_cost_before: "0", monthly_cost_after: "0", monthly_delta: "0", monthly_delta_pct: null, resources: [], unpriced: [], unsupported: [] },
    verdicts: verdicts.map((v) => ({ rule: v.rule, passed: v.passed, message: v.message ?? `${v.rule} message`, details: v.details ?? {} })),
  });
}

export function missingTags(...resources: [string, string[]][]): VerdictSpec {
  return {
    rule: "required_tags",
    passed: resources.length === 0,
    message: resources.map(([a, keys]) => `${a} lacks ${keys.join(", ")}`).join("; "),
    details: { required: ["team", "env"], resources: resources.map(([address, missing]) => ({ address, missing })) },
  };
}

export function disallowedTypes(allowed: string[], ...resources: [string, string][]): VerdictSpec {
  const family = (t: string): string => t.replace(/^(db|cache)\./, "").split(".")[0]!;
  return {
    rule: "allowed_instance_families",
    passed: resources.length === 0,
    message: `${resources.map(([a, t]) => `${a} uses ${t}`).join("; ")} (allowed: ${allowed.join(", ")})`,
    details: { allowed_families: allowed, resources: resources.map(([address, t]) => ({ address, instance_type: t, family: family(t) })) },
  };
}
