/** "Outlay: Show cost diff against main" as a Markdown document: per unit, the resources whose cost changes. */

import { Dec } from "./decimal";
import { changedResources, type CostDiff } from "./diff";
import { money, signedMoney } from "./money";

export interface DiffSection {
  title: string;
  diff: CostDiff | null;
  error?: string;
}

function cell(value: Dec | null): string {
  return value === null ? "—" : money(value);
}

export function diffReport(sections: DiffSection[], baseRev: string): string {
  const priced = sections.filter((s): s is DiffSection & { diff: CostDiff } => s.diff !== null);
  const before = priced.reduce((acc, s) => acc.plus(s.diff.before), Dec.ZERO);
  const after = priced.reduce((acc, s) => acc.plus(s.diff.after), Dec.ZERO);
  const lines = [
    `# Cost diff against ${baseRev}`,
    "",
    `Monthly: ${money(before)} → ${money(after)} (**${signedMoney(after.minus(before))}**), over ${priced.length} unit(s).`,
    "",
  ];
  for (const section of sections) {
    lines.push(`## ${section.title}`, "");
    if (section.diff === null) {
      lines.push(section.error ?? "Not compared.", "");
      continue;
    }
    const changed = changedResources(section.diff);
    lines.push(
      `${money(section.diff.before)} → ${money(section.diff.after)} (${signedMoney(section.diff.delta)})`,
      "",
    );
    if (changed.length === 0) {
      lines.push("No resource's cost changes.", "");
      continue;
    }
    lines.push("| resource | change | before | after | monthly delta |", "|---|---|---:|---:|---:|");
    for (const r of changed) {
      lines.push(`| \`${r.address}\` | ${r.change} | ${cell(r.before)} | ${cell(r.after)} | ${signedMoney(r.delta)} |`);
    }
    lines.push("");
  }
  return lines.join("\n");
}
