/**
 * The JSON `outlay estimate --format json` writes (schema_version "1", docs/iac.md), read into typed values with
 * exact decimals. Anything else (another schema version, a missing field) is a SchemaError naming what is wrong.
 */

import { Dec, sum } from "./decimal";

export const SCHEMA_VERSION = "1";

export type Status = "priced" | "free" | "unsupported";

export interface Component {
  name: string;
  unit: string;
  monthlyQuantity: Dec | null; // null: depends on usage the usage file does not give
  unitPrice: Dec | null; // null: the catalogue has no price
  monthlyCost: Dec | null;
  usageBased: boolean;
}

export interface SubResource {
  name: string;
  components: Component[];
}

export interface ResourceCost {
  address: string;
  type: string;
  status: Status;
  module: string | null;
  region: string | null;
  action: string;
  monthlyCost: Dec;
  components: Component[];
  subresources: SubResource[];
  note: string | null;
}

export interface Problem {
  address: string;
  message: string;
}

export interface Estimate {
  source: string;
  currency: string;
  monthlyCost: Dec;
  resources: ResourceCost[];
  problems: Problem[];
}

export class SchemaError extends Error {}

export type Json = Record<string, unknown>;

export function object(value: unknown, where: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SchemaError(`${where}: expected an object`);
  }
  return value as Json;
}

export function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new SchemaError(`${where}: expected a list`);
  }
  return value;
}

export function string(value: unknown, where: string): string {
  if (typeof value !== "string") {
    throw new SchemaError(`${where}: expected a string`);
  }
  return value;
}

function optionalString(value: unknown, where: string): string | null {
  return value === null || value === undefined ? null : string(value, where);
}

function decimal(value: unknown, where: string): Dec {
  try {
    return Dec.parse(string(value, where));
  } catch (error) {
    throw new SchemaError(`${where}: ${(error as Error).message}`);
  }
}

function optionalDecimal(value: unknown, where: string): Dec | null {
  return value === null || value === undefined ? null : decimal(value, where);
}

function component(value: unknown, where: string): Component {
  const raw = object(value, where);
  return {
    name: string(raw.name, `${where}.name`),
    unit: string(raw.unit, `${where}.unit`),
    monthlyQuantity: optionalDecimal(raw.monthly_quantity, `${where}.monthly_quantity`),
    unitPrice: optionalDecimal(raw.unit_price, `${where}.unit_price`),
    monthlyCost: optionalDecimal(raw.monthly_cost, `${where}.monthly_cost`),
    usageBased: raw.usage_based === true,
  };
}

function resource(value: unknown, where: string): ResourceCost {
  const raw = object(value, where);
  const status = string(raw.status, `${where}.status`);
  if (status !== "priced" && status !== "free" && status !== "unsupported") {
    throw new SchemaError(`${where}.status: unknown status ${JSON.stringify(status)}`);
  }
  return {
    address: string(raw.address, `${where}.address`),
    type: string(raw.type, `${where}.type`),
    status,
    module: optionalString(raw.module, `${where}.module`),
    region: optionalString(raw.region, `${where}.region`),
    action: optionalString(raw.action, `${where}.action`) ?? "create",
    monthlyCost: decimal(raw.monthly_cost, `${where}.monthly_cost`),
    components: array(raw.components ?? [], `${where}.components`).map((c, i) =>
      component(c, `${where}.components[${i}]`),
    ),
    subresources: array(raw.subresources ?? [], `${where}.subresources`).map((s, i) => {
      const sub = object(s, `${where}.subresources[${i}]`);
      return {
        name: string(sub.name, `${where}.subresources[${i}].name`),
        components: array(sub.components ?? [], `${where}.subresources[${i}].components`).map((c, j) =>
          component(c, `${where}.subresources[${i}].components[${j}]`),
        ),
      };
    }),
    note: optionalString(raw.note, `${where}.note`),
  };
}

/** The estimate in `text` (the CLI's stdout). */
export function parseEstimate(text: string): Estimate {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new SchemaError("the CLI did not print JSON: is it an outlay version with `estimate --format json`?");
  }
  const raw = object(document, "estimate");
  if (raw.schema_version !== SCHEMA_VERSION) {
    throw new SchemaError(
      `estimate JSON schema_version ${JSON.stringify(raw.schema_version)}; this extension reads version ${SCHEMA_VERSION}`,
    );
  }
  return {
    source: string(raw.source, "source"),
    currency: string(raw.currency, "currency"),
    monthlyCost: decimal(raw.monthly_cost, "monthly_cost"),
    resources: array(raw.resources, "resources").map((r, i) => resource(r, `resources[${i}]`)),
    problems: array(raw.problems ?? [], "problems").map((p, i) => {
      const problem = object(p, `problems[${i}]`);
      return {
        address: string(problem.address, `problems[${i}].address`),
        message: string(problem.message, `problems[${i}].message`),
      };
    }),
  };
}

export const EMPTY_ESTIMATE: Estimate = {
  source: "nothing (all new)",
  currency: "USD",
  monthlyCost: Dec.ZERO,
  resources: [],
  problems: [],
};

/** Every component of a resource, a nested block's named "block / component" as `outlay diff` names them. */
export function namedComponents(resource: ResourceCost): { name: string; component: Component }[] {
  return [
    ...resource.components.map((component) => ({ name: component.name, component })),
    ...resource.subresources.flatMap((sub) =>
      sub.components.map((component) => ({ name: `${sub.name} / ${component.name}`, component })),
    ),
  ];
}

/** Whether part of the resource's cost depends on usage the usage file does not give. */
export function hasUnknownUsage(resource: ResourceCost): boolean {
  return namedComponents(resource).some(({ component }) => component.usageBased && component.monthlyQuantity === null);
}

export function totalOf(resources: Iterable<ResourceCost>): Dec {
  return sum([...resources].map((r) => r.monthlyCost));
}
