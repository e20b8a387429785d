/** Everything the editor shows for one file, from its text and its unit's result: lenses, hovers, diagnostics. */

import type { SourceBlock } from "./blocks";
import { type DiagnosticModel, fileDiagnostics, inputErrorDiagnostic } from "./diagnostics";
import type { UnitResult } from "./engine";
import type { ResourceCost } from "./estimate";
import { hoverMarkdown } from "./hover";
import { buildLenses, type LensModel, resourcesByBlock } from "./lenses";
import { blockKeyOf, blocksOf } from "./sources";

export interface FileView {
  blocks: SourceBlock[];
  lenses: LensModel[];
  diagnostics: DiagnosticModel[];
  /** The hover's Markdown at an offset of the text, or null when it is not on a priced block. */
  hoverAt(offset: number): string | null;
}

export interface ViewOptions {
  path: string;
  text: string;
  result: UnitResult | undefined;
  /** Whether this file carries the findings about the unit's change as a whole (one file per unit does). */
  unitAnchor: boolean;
  policyFile: string;
  usageFile: string;
}

export function fileView(options: ViewOptions): FileView {
  const blocks = blocksOf(options.path, options.text);
  const result = options.result;
  const head = result?.head ?? null;
  const lenses = head ? buildLenses(blocks, head, result?.base ?? null) : [];
  const diagnostics: DiagnosticModel[] = [];
  const fileError = result?.fileErrors.get(options.path);
  if (fileError !== undefined) {
    diagnostics.push(inputErrorDiagnostic(options.text, fileError));
  } else if (result && head === null && result.error !== null && options.unitAnchor) {
    diagnostics.push(inputErrorDiagnostic(options.text, result.error));
  }
  if (result && head) {
    diagnostics.push(
      ...fileDiagnostics({
        text: options.text,
        blocks,
        findings: result.findings,
        problems: head.problems,
        policyFile: options.policyFile,
        unitLevel: options.unitAnchor,
      }),
    );
  }
  const headBy: Map<string, ResourceCost[]> = head ? resourcesByBlock(head) : new Map<string, ResourceCost[]>();
  const baseBy = result?.base ? resourcesByBlock(result.base) : null;
  return {
    blocks,
    lenses,
    diagnostics,
    hoverAt(offset: number): string | null {
      const block = blocks.find((b) => offset >= b.start && offset <= b.end);
      if (block === undefined || head === null) return null;
      const resources = headBy.get(block.key) ?? [];
      if (!resources.some((r) => r.status === "priced")) return null;
      return hoverMarkdown({
        key: block.key,
        kind: block.kind,
        resources,
        base: baseBy === null ? null : (baseBy.get(block.key) ?? []),
        problems: head.problems.filter((p) => blockKeyOf(p.address) === block.key),
        usageFile: options.usageFile,
      });
    },
  };
}
