/** Core models as `vscode` objects: offsets become ranges of the document they were computed from. */

import * as vscode from "vscode";
import type { DiagnosticModel } from "../core/diagnostics";
import type { LensModel } from "../core/lenses";

export interface OffsetDocument {
  positionAt(offset: number): vscode.Position;
  readonly uri: vscode.Uri;
}

export function rangeOf(document: OffsetDocument, start: number, end: number): vscode.Range {
  return new vscode.Range(document.positionAt(start), document.positionAt(end));
}

export function toCodeLens(document: OffsetDocument, lens: LensModel): vscode.CodeLens {
  const range = rangeOf(document, lens.block.headerStart, lens.block.headerEnd);
  return new vscode.CodeLens(range, {
    title: lens.title,
    tooltip: `${lens.block.key}: monthly cost from outlay estimate${lens.delta !== null ? ", and the change against the last commit" : ""}`,
    command: "outlay.showResource",
    arguments: [document.uri, lens.block.key],
  });
}

const SEVERITY: Record<DiagnosticModel["severity"], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  information: vscode.DiagnosticSeverity.Information,
};

export const DIAGNOSTIC_SOURCE = "outlay";

export function toDiagnostic(document: OffsetDocument, model: DiagnosticModel): vscode.Diagnostic {
  const diagnostic = new vscode.Diagnostic(rangeOf(document, model.start, model.end), model.message, SEVERITY[model.severity]);
  diagnostic.source = DIAGNOSTIC_SOURCE;
  diagnostic.code = model.code;
  return diagnostic;
}

export function toCodeActions(document: OffsetDocument, model: DiagnosticModel, diagnostic: vscode.Diagnostic): vscode.CodeAction[] {
  return model.fixes.map((fix) => {
    const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
    const edit = new vscode.WorkspaceEdit();
    for (const e of fix.edits) {
      edit.replace(document.uri, rangeOf(document, e.offset, e.offset + e.length), e.text);
    }
    action.edit = edit;
    action.diagnostics = [diagnostic];
    action.isPreferred = model.fixes.length === 1;
    return action;
  });
}
