/** Diagnostics of one file: the gate's findings on its resources, unpriced costs, and an input the CLI refused. */

import { LineIndex, occurrences, type SourceBlock } from "./blocks";
import type { Problem } from "./estimate";
import type { Finding } from "./gate";
import { blockKeyOf } from "./sources";

export type Severity = "error" | "warning" | "information";

export interface TextEdit {
  offset: number;
  length: number;
  text: string;
}

export interface QuickFix {
  title: string;
  edits: TextEdit[];
}

export interface DiagnosticModel {
  start: number;
  end: number;
  message: string;
  severity: Severity;
  code: string;
  fixes: QuickFix[];
}

export interface FileDiagnosticsInput {
  text: string;
  blocks: SourceBlock[];
  findings: Finding[];
  problems: Problem[];
  policyFile: string;
  /** Whether findings about the whole change (increase, budget) go in this file (one file of a unit gets them). */
  unitLevel: boolean;
}

function blockFor(blocks: SourceBlock[], address: string): SourceBlock | undefined {
  const key = blockKeyOf(address);
  return blocks.find((b) => b.key === key);
}

export function fileDiagnostics(input: FileDiagnosticsInput): DiagnosticModel[] {
  const out: DiagnosticModel[] = [];
  const pricedFailed = input.findings.some((f) => f.rule === "priced");
  const source = `(${input.policyFile})`;
  for (const finding of input.findings) {
    if (finding.address === undefined) {
      if (!input.unitLevel) continue;
      const anchor = input.blocks[0];
      const lineEnd = input.text.indexOf("\n");
      out.push({
        start: anchor ? anchor.headerStart : 0,
        end: anchor ? anchor.headerEnd : lineEnd === -1 ? input.text.length : lineEnd,
        message: `Cost gate ${finding.rule}: ${finding.message} ${source}`,
        severity: finding.rule === "priced" ? "warning" : "error",
        code: finding.rule,
        fixes: [],
      });
      continue;
    }
    const block = blockFor(input.blocks, finding.address);
    if (block === undefined) continue; // a resource of another file of the same Terraform directory
    const model: DiagnosticModel = {
      start: block.headerStart,
      end: block.headerEnd,
      message: `${finding.address}: ${finding.message} ${source}`,
      severity: "error",
      code: finding.rule,
      fixes: [],
    };
    const fix = finding.fix;
    if (fix?.kind === "tags" && block.tagInsertion) {
      model.fixes.push({
        title: `Add missing tag${fix.keys.length > 1 ? "s" : ""}: ${fix.keys.join(", ")}`,
        edits: [{ offset: block.tagInsertion.offset, length: 0, text: block.tagInsertion.text(fix.keys) }],
      });
    }
    if (fix?.kind === "instanceType") {
      const found = occurrences(input.text, fix.from, block.start, block.end);
      const first = found[0];
      if (first !== undefined) {
        model.start = first;
        model.end = first + fix.from.length;
        model.fixes.push({
          title: `Switch to ${fix.to}`,
          edits: found.map((offset) => ({ offset, length: fix.from.length, text: fix.to })),
        });
      }
    }
    out.push(model);
  }
  for (const problem of input.problems) {
    const block = blockFor(input.blocks, problem.address);
    if (block === undefined && !input.unitLevel) continue;
    out.push({
      start: block ? block.headerStart : 0,
      end: block ? block.headerEnd : Math.max(0, input.text.indexOf("\n")),
      message: `${problem.address}: ${problem.message}${pricedFailed ? " (not in the totals: the gate's priced rule fails)" : ""}`,
      severity: pricedFailed ? "error" : "warning",
      code: "unpriced",
      fixes: [],
    });
  }
  return out;
}

/** The one diagnostic of a file the estimator refused: its message, at the line it names when it names one. */
export function inputErrorDiagnostic(text: string, message: string): DiagnosticModel {
  const lines = new LineIndex(text);
  const lineMatch = /\bline (\d+)/i.exec(message);
  const lineCount = text.split("\n").length;
  const line = lineMatch ? Math.min(Math.max(Number(lineMatch[1]) - 1, 0), lineCount - 1) : 0;
  const start = lines.offset({ line, character: 0 });
  return {
    start,
    end: start + lines.lineText(line).length,
    message: `outlay estimate could not read this: ${message.trim()}`,
    severity: "error",
    code: "input",
    fixes: [],
  };
}
