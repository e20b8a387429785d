/** The CodeLens, hover and quick-fix providers: thin, over the file views the controller keeps. */

import * as vscode from "vscode";
import type { FileView } from "../core/view";
import { DIAGNOSTIC_SOURCE, toCodeActions, toCodeLens, toDiagnostic } from "./convert";

export interface ViewSource {
  /** The view of a document as it is now (its unsaved text placed against the last estimate). */
  viewOf(document: vscode.TextDocument): FileView | null;
  readonly onDidChange: vscode.Event<void>;
}

export class CostLensProvider implements vscode.CodeLensProvider {
  readonly onDidChangeCodeLenses: vscode.Event<void>;

  constructor(private readonly views: ViewSource) {
    this.onDidChangeCodeLenses = views.onDidChange;
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const view = this.views.viewOf(document);
    return view ? view.lenses.map((lens) => toCodeLens(document, lens)) : [];
  }
}

export class CostHoverProvider implements vscode.HoverProvider {
  constructor(private readonly views: ViewSource) {}

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | null {
    const view = this.views.viewOf(document);
    const markdown = view?.hoverAt(document.offsetAt(position));
    if (!markdown) return null;
    const content = new vscode.MarkdownString(markdown);
    content.isTrusted = { enabledCommands: ["outlay.editUsage"] };
    return new vscode.Hover(content);
  }
}

export class PolicyFixProvider implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  constructor(private readonly views: ViewSource) {}

  provideCodeActions(document: vscode.TextDocument, range: vscode.Range | vscode.Selection): vscode.CodeAction[] {
    const view = this.views.viewOf(document);
    if (view === null) return [];
    const actions: vscode.CodeAction[] = [];
    for (const model of view.diagnostics) {
      if (model.fixes.length === 0) continue;
      const diagnostic = toDiagnostic(document, model);
      if (diagnostic.range.intersection(range) === undefined) continue;
      actions.push(...toCodeActions(document, model, diagnostic));
    }
    return actions;
  }
}

/** The diagnostics of a document, as the Problems panel shows them. */
export function diagnosticsOf(document: { positionAt(offset: number): vscode.Position; uri: vscode.Uri }, view: FileView): vscode.Diagnostic[] {
  return view.diagnostics.map((model) => toDiagnostic(document, model));
}

export { DIAGNOSTIC_SOURCE };
