/** The hover over a resource: its components (as `outlay estimate` breaks them down), usage assumptions, a link. */

import { Dec } from "./decimal";
import type { Estimate, ResourceCost } from "./estimate";
import { namedComponents } from "./estimate";
import { money, quantity, signedMoney, unitPrice } from "./money";

const MAX_RESOURCES = 5;

function escapeCell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function componentRows(resource: ResourceCost): string[] {
  return namedComponents(resource).map(({ name, component }) => {
    const qty = component.monthlyQuantity === null ? "—" : `${quantity(component.monthlyQuantity)} ${component.unit}`;
    const price = component.unitPrice === null ? "no price" : `${unitPrice(component.unitPrice)} / ${component.unit}`;
    let cost: string;
    if (component.unitPrice === null) cost = "no price";
    else if (component.monthlyCost === null) cost = "depends on usage";
    else cost = money(component.monthlyCost);
    return `| ${escapeCell(name)} | ${escapeCell(qty)} | ${escapeCell(price)} | ${cost} |`;
  });
}

/** A command link VS Code runs when clicked (the hover must allow command URIs). */
export function commandLink(command: string, args: unknown[]): string {
  return `command:${command}?${encodeURIComponent(JSON.stringify(args))}`;
}

export interface HoverInput {
  key: string;
  kind: "resource" | "module";
  resources: ResourceCost[];
  base: ResourceCost[] | null;
  problems: Estimate["problems"];
  usageFile: string;
}

export function hoverMarkdown(input: HoverInput): string {
  const parts: string[] = [];
  const total = input.resources.reduce((acc, r) => acc.plus(r.monthlyCost), Dec.ZERO);
  const header = `**${input.key}** — ${money(total)}/mo`;
  if (input.base !== null) {
    const before = input.base.reduce((acc, r) => acc.plus(r.monthlyCost), Dec.ZERO);
    parts.push(
      input.base.length === 0
        ? `${header} (not in the last commit)`
        : `${header} (${signedMoney(total.minus(before))} against the last commit: ${money(before)}/mo)`,
    );
  } else {
    parts.push(header);
  }
  const shown = input.resources.filter((r) => r.status === "priced").slice(0, MAX_RESOURCES);
  for (const resource of shown) {
    if (input.resources.length > 1) parts.push(`\`${resource.address}\` — ${money(resource.monthlyCost)}/mo`);
    parts.push(["| component | monthly quantity | unit price | monthly cost |", "|---|---:|---:|---:|", ...componentRows(resource)].join("\n"));
  }
  if (input.resources.length > shown.length) {
    parts.push(`…and ${input.resources.length - shown.length} more resource(s) (free, not supported, or not shown).`);
  }
  const usage = shown.flatMap((resource) =>
    namedComponents(resource)
      .filter(({ component }) => component.usageBased)
      .map(({ name, component }) =>
        component.monthlyQuantity === null
          ? `- ${name}: **no usage given** — ${component.unitPrice === null ? "no price" : `${unitPrice(component.unitPrice)} per ${component.unit}`}`
          : `- ${name}: ${quantity(component.monthlyQuantity)} ${component.unit} a month (from the usage file)`,
      ),
  );
  if (usage.length) {
    parts.push(`**Usage assumptions**\n\n${usage.join("\n")}`);
  }
  const problems = input.problems.map((p) => `- \`${p.address}\`: ${p.message}`);
  if (problems.length) parts.push(`**Not priced**\n\n${problems.join("\n")}`);
  const first = shown[0];
  if (first !== undefined) {
    const target = input.kind === "resource" && input.resources.length > 1 ? `${input.key}[*]` : first.address;
    parts.push(
      `[Set usage values in ${input.usageFile}](${commandLink("outlay.editUsage", [target, first.type])})`,
    );
  }
  return parts.join("\n\n");
}
