/**
 * The VS Code side: settings, commands, events, the status bar, SecretStorage. Everything it shows is computed by
 * the plain modules in core/ (tested without VS Code); this file only wires them to the editor.
 */

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative } from "node:path";
import * as vscode from "vscode";
import { diagnosticsOf, CostHoverProvider, CostLensProvider, PolicyFixProvider } from "./adapter/providers";
import { LineIndex } from "./core/blocks";
import { checkCli, CliMissingError, type CliStatus, INSTALL_HINT, resolveCli, spawnRunner } from "./core/cli";
import { Dec } from "./core/decimal";
import { diffEstimates } from "./core/diff";
import { Engine, localModuleDirs, type Settings, type Unit, unitOf, type UnitResult } from "./core/engine";
import { EMPTY_ESTIMATE } from "./core/estimate";
import { Git, Snapshots } from "./core/git";
import { LiveStream } from "./core/live";
import { money } from "./core/money";
import { diffReport, type DiffSection } from "./core/report";
import { isAbort, Limiter, Scheduler } from "./core/scheduler";
import { fileKind } from "./core/sources";
import { usageEntry } from "./core/usage";
import { fileView, type FileView } from "./core/view";

const SECRET_KEY = "outlay.apiKey";
const SELECTOR: vscode.DocumentSelector = [
  { scheme: "file", pattern: "**/*.tf" },
  { scheme: "file", pattern: "**/*.{yaml,yml,json,template}" },
];

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration("outlay");
}

function folders(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
}

class Controller implements vscode.Disposable {
  private readonly output = vscode.window.createOutputChannel("Outlay");
  private readonly diagnostics = vscode.languages.createDiagnosticCollection("outlay");
  private readonly status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  private readonly liveItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 49);
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly git = new Git(spawnRunner);
  private readonly snapshots = new Snapshots(this.git);
  private readonly engine = new Engine(spawnRunner, this.git, this.snapshots);
  private readonly scheduler = new Scheduler(600);
  private readonly limiter = new Limiter(2);
  private readonly units = new Map<string, Unit>();
  private readonly views = new Map<string, { version: number; result: UnitResult | undefined; view: FileView }>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly moduleDirs = new Map<string, { result: UnitResult | undefined; dirs: string[] }>();
  private cli: CliStatus | null = null;
  private apiKey: string | null = null;
  private stream: LiveStream | null = null;
  private running = 0;

  constructor(private readonly context: vscode.ExtensionContext) {}

  async start(): Promise<void> {
    const views = { viewOf: (d: vscode.TextDocument) => this.viewOf(d), onDidChange: this.onDidChange };
    this.disposables.push(
      this.output,
      this.diagnostics,
      this.status,
      this.liveItem,
      this.changed,
      vscode.languages.registerCodeLensProvider(SELECTOR, new CostLensProvider(views)),
      vscode.languages.registerHoverProvider(SELECTOR, new CostHoverProvider(views)),
      vscode.languages.registerCodeActionsProvider(SELECTOR, new PolicyFixProvider(views), {
        providedCodeActionKinds: PolicyFixProvider.kinds,
      }),
      vscode.commands.registerCommand("outlay.estimateWorkspace", () => this.estimateWorkspace(true)),
      vscode.commands.registerCommand("outlay.diffAgainstMain", () => this.diffAgainstBase()),
      vscode.commands.registerCommand("outlay.openDashboard", () => this.openDashboard()),
      vscode.commands.registerCommand("outlay.setApiKey", () => this.setApiKey()),
      vscode.commands.registerCommand("outlay.clearApiKey", () => this.clearApiKey()),
      vscode.commands.registerCommand("outlay.showOutput", () => this.output.show()),
      vscode.commands.registerCommand("outlay.editUsage", (address: string, type: string) => this.editUsage(address, type)),
      vscode.commands.registerCommand("outlay.showResource", (uri: vscode.Uri, key: string) => this.showResource(uri, key)),
      vscode.commands.registerCommand("outlay.showCliProblem", () => this.showCliProblem()),
      vscode.workspace.onDidSaveTextDocument((d) => this.onSave(d)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration("outlay")) void this.reconfigure();
      }),
      this.context.secrets.onDidChange((e) => {
        if (e.key === SECRET_KEY) void this.loadKey().then(() => this.restartStream());
      }),
    );
    this.status.command = "outlay.estimateWorkspace";
    this.status.text = "$(sync~spin) Outlay";
    this.status.show();
    await this.loadKey();
    await this.reconfigure();
  }

  dispose(): void {
    this.scheduler.dispose();
    this.stream?.dispose();
    this.snapshots.dispose();
    for (const d of this.disposables) d.dispose();
  }

  private log(message: string): void {
    this.output.appendLine(`[${new Date().toISOString()}] ${message}`);
  }

  // ---- settings

  private settings(): Settings {
    const folder = folders()[0] ?? process.cwd();
    const inFolder = (name: string): string | null => {
      if (!name.trim()) return null;
      const path = isAbsolute(name) ? name : join(folder, name);
      return existsSync(path) ? path : null;
    };
    return {
      cli: resolveCli(config().get<string>("cliPath", ""), process.env, folders(), existsSync),
      region: config().get<string>("region", "us-east-1"),
      usageFile: inFolder(config().get<string>("usageFile", "outlay-usage.yml")),
      policyFile: inFolder(config().get<string>("policyFile", "outlay-policy.yml")),
      apiUrl: config().get<string>("apiUrl", "").trim() || null,
      apiKey: this.apiKey,
    };
  }

  private async loadKey(): Promise<void> {
    this.apiKey = (await this.context.secrets.get(SECRET_KEY)) ?? null;
  }

  private async reconfigure(): Promise<void> {
    this.scheduler.setDelay(config().get<number>("debounceMs", 600));
    const settings = this.settings();
    this.cli = await checkCli(spawnRunner, settings.cli);
    if (!this.cli.ok) {
      this.log(this.cli.message);
      this.updateStatus();
      void vscode.window.showErrorMessage(`Outlay: ${this.cli.message}`, "Open settings").then((choice) => {
        if (choice) void vscode.commands.executeCommand("workbench.action.openSettings", "outlay.cliPath");
      });
      return;
    }
    this.log(`outlay CLI ${this.cli.version} at ${settings.cli}`);
    this.restartStream();
    await this.estimateWorkspace(false);
  }

  // ---- units and estimates

  private unitOfFile(path: string, text?: string): Unit | null {
    const kind = fileKind(path, text ?? (path.endsWith(".tf") ? undefined : (safeRead(path) ?? undefined)));
    if (kind === null) return null;
    const unit = unitOf(path, kind);
    this.units.set(unit.id, unit);
    return unit;
  }

  private async discover(): Promise<Unit[]> {
    const exclude = config().get<string[]>("exclude", []);
    const files = await vscode.workspace.findFiles("**/*.{tf,yaml,yml,json,template}", exclude.length ? `{${exclude.join(",")}}` : undefined, 50_000);
    const found = new Map<string, Unit>();
    for (const uri of files) {
      const unit = this.unitOfFile(uri.fsPath);
      if (unit) found.set(unit.id, unit);
    }
    return [...found.values()];
  }

  private async runUnit(unit: Unit, signal: AbortSignal): Promise<UnitResult | null> {
    this.running++;
    this.updateStatus();
    try {
      const started = Date.now();
      const result = await this.limiter.run(() => this.engine.estimate(unit, this.settings(), signal), signal);
      this.log(`${unit.path}: ${result.head ? money(result.head.monthlyCost) + "/mo" : `not estimated: ${result.error ?? ""}`} (${Date.now() - started} ms)`);
      if (result.gateError) this.log(`gate: ${result.gateError}`);
      this.publish(unit);
      return result;
    } catch (error) {
      if (isAbort(error)) return null;
      if (error instanceof CliMissingError) {
        this.cli = { ok: false, reason: "missing", message: `The outlay CLI was not found at \`${error.command}\`. ${INSTALL_HINT}` };
      }
      this.log(`${unit.path}: ${(error as Error).message}`);
      return null;
    } finally {
      this.running--;
      this.updateStatus();
    }
  }

  private schedule(unit: Unit): void {
    this.scheduler.schedule(unit.id, async (signal) => {
      await this.runUnit(unit, signal);
    });
  }

  private async estimateWorkspace(fresh: boolean): Promise<void> {
    if (!this.cli?.ok) {
      this.showCliProblem();
      return;
    }
    if (fresh) this.engine.forgetAll();
    const units = await this.discover();
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `Outlay: estimating ${units.length} unit(s)` },
      () => Promise.all(units.map((unit) => this.scheduler.run(unit.id, async (signal) => void (await this.runUnit(unit, signal))))),
    );
    if (fresh) {
      void vscode.window.showInformationMessage(`Outlay: ${this.totalText()} over ${units.length} Terraform directories and templates.`);
    }
  }

  private onSave(document: vscode.TextDocument): void {
    const path = document.uri.fsPath;
    const settings = this.settings();
    if (path === settings.usageFile || path === settings.policyFile) {
      for (const unit of this.units.values()) this.schedule(unit);
      return;
    }
    const unit = this.unitOfFile(path, document.getText());
    if (unit === null) return;
    this.schedule(unit);
    if (unit.kind === "terraform") {
      // Directories that call this one as a local module change with it.
      for (const other of this.units.values()) {
        if (other.id !== unit.id && this.modulesOf(other).includes(unit.path)) this.schedule(other);
      }
    }
  }

  private filesOf(unit: Unit): string[] {
    if (unit.kind === "cloudformation") return [unit.path];
    try {
      return readdirSync(unit.path)
        .filter((n) => n.endsWith(".tf"))
        .sort()
        .map((n) => join(unit.path, n));
    } catch {
      return [];
    }
  }

  private anchorOf(unit: Unit): string {
    const files = this.filesOf(unit);
    return files.find((f) => /[\\/]main\.tf$/.test(f)) ?? files[0] ?? unit.path;
  }

  private publish(unit: Unit): void {
    for (const file of this.filesOf(unit)) {
      const uri = vscode.Uri.file(file);
      const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
      const view = open ? this.viewOf(open) : this.viewOfText(file, safeRead(file) ?? "", unit);
      if (view === null) continue;
      const positions = open ?? new TextPositions(uri, safeRead(file) ?? "");
      this.diagnostics.set(uri, diagnosticsOf(positions, view));
    }
    const result = this.engine.latest(unit);
    const policy = this.settings().policyFile;
    if (policy && result?.gateError) {
      this.diagnostics.set(vscode.Uri.file(policy), [
        new vscode.Diagnostic(new vscode.Range(0, 0, 0, 1), `outlay gate: ${result.gateError}`, vscode.DiagnosticSeverity.Error),
      ]);
    } else if (policy) {
      this.diagnostics.delete(vscode.Uri.file(policy));
    }
    this.changed.fire();
  }

  private viewOfText(path: string, text: string, unit: Unit): FileView {
    const settings = this.settings();
    const folder = folders()[0] ?? dirname(path);
    return fileView({
      path,
      text,
      result: this.engine.latest(unit),
      unitAnchor: this.anchorOf(unit) === path,
      policyFile: settings.policyFile ? relative(folder, settings.policyFile) : "no policy file",
      usageFile: config().get<string>("usageFile", "outlay-usage.yml"),
    });
  }

  viewOf(document: vscode.TextDocument): FileView | null {
    const path = document.uri.fsPath;
    const unit = this.unitOfFile(path, document.getText());
    if (unit === null) return null;
    const result = this.engine.latest(unit);
    const key = document.uri.toString();
    const cached = this.views.get(key);
    if (cached && cached.version === document.version && cached.result === result) return cached.view;
    const view = this.viewOfText(path, document.getText(), unit);
    this.views.set(key, { version: document.version, result, view });
    return view;
  }

  // ---- status bar

  /** The local module directories a unit calls, read again only when the unit has a new result. */
  private modulesOf(unit: Unit): string[] {
    if (unit.kind !== "terraform") return [];
    const result = this.engine.latest(unit);
    const cached = this.moduleDirs.get(unit.id);
    if (cached && cached.result === result) return cached.dirs;
    const dirs = localModuleDirs(unit.path);
    this.moduleDirs.set(unit.id, { result, dirs });
    return dirs;
  }

  private total(): { total: Dec; units: number } {
    const modules = new Set<string>();
    const results: UnitResult[] = [];
    for (const unit of this.units.values()) {
      const result = this.engine.latest(unit);
      if (result?.head) results.push(result);
      for (const m of this.modulesOf(unit)) modules.add(m);
    }
    const counted = results.filter((r) => !(r.unit.kind === "terraform" && modules.has(r.unit.path)));
    return { total: counted.reduce((acc, r) => acc.plus(r.head?.monthlyCost ?? Dec.ZERO), Dec.ZERO), units: counted.length };
  }

  private totalText(): string {
    return `${money(this.total().total)}/mo`;
  }

  private updateStatus(): void {
    if (this.cli && !this.cli.ok) {
      this.status.text = `$(warning) Outlay: CLI ${this.cli.reason === "missing" ? "not found" : this.cli.reason === "too-old" ? "too old" : "broken"}`;
      this.status.tooltip = this.cli.message;
      this.status.command = "outlay.showCliProblem";
      return;
    }
    const { total, units } = this.total();
    this.status.text = `${this.running > 0 ? "$(sync~spin)" : "$(credit-card)"} ${money(total)}/mo`;
    this.status.tooltip = `Outlay: monthly estimate of ${units} Terraform directories and CloudFormation templates in this workspace (local modules counted where they are called). Click to estimate again.`;
    this.status.command = "outlay.estimateWorkspace";
  }

  private showCliProblem(): void {
    const message = this.cli && !this.cli.ok ? this.cli.message : "The outlay CLI has not been checked yet.";
    void vscode.window.showErrorMessage(`Outlay: ${message}`, "Open settings").then((choice) => {
      if (choice) void vscode.commands.executeCommand("workbench.action.openSettings", "outlay.cliPath");
    });
  }

  // ---- live cost over the API's stream

  private restartStream(): void {
    this.stream?.dispose();
    this.stream = null;
    const apiUrl = config().get<string>("apiUrl", "").trim();
    const service = config().get<string>("liveService", "").trim();
    if (!apiUrl || !service || !this.apiKey) {
      this.liveItem.hide();
      return;
    }
    this.stream = new LiveStream({
      apiUrl,
      apiKey: this.apiKey,
      service,
      onChange: (live, state) => {
        this.liveItem.text = `$(pulse) ${live.text()}`;
        this.liveItem.tooltip = live.error ? `Outlay stream: ${live.error}` : `Live cost from ${apiUrl} (WS /v1/stream), ${state}`;
        this.liveItem.show();
      },
    });
    this.liveItem.text = `$(pulse) ${service}: connecting`;
    this.liveItem.command = "outlay.openDashboard";
    this.liveItem.show();
    this.stream.start();
  }

  private async setApiKey(): Promise<void> {
    const key = await vscode.window.showInputBox({
      title: "Outlay API key",
      prompt: "Kept in VS Code's secret storage, never in settings files",
      password: true,
      ignoreFocusOut: true,
    });
    if (key) await this.context.secrets.store(SECRET_KEY, key.trim());
  }

  private async clearApiKey(): Promise<void> {
    await this.context.secrets.delete(SECRET_KEY);
    void vscode.window.showInformationMessage("Outlay: API key removed from secret storage.");
  }

  // ---- commands

  private async openDashboard(): Promise<void> {
    const url = config().get<string>("dashboardUrl", "").trim() || config().get<string>("apiUrl", "").trim();
    if (!url) {
      const choice = await vscode.window.showWarningMessage("Outlay: set outlay.apiUrl (or outlay.dashboardUrl) to open the dashboard.", "Open settings");
      if (choice) void vscode.commands.executeCommand("workbench.action.openSettings", "outlay.apiUrl");
      return;
    }
    await vscode.env.openExternal(vscode.Uri.parse(url));
  }

  private async diffAgainstBase(): Promise<void> {
    if (!this.cli?.ok) {
      this.showCliProblem();
      return;
    }
    const rev = config().get<string>("diffBase", "main");
    const units = await this.discover();
    const folder = folders()[0] ?? "";
    const settings = this.settings();
    const sections = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Outlay: cost diff against ${rev}` },
      () =>
        Promise.all(
          units.map(async (unit): Promise<DiffSection> => {
            const title = relative(folder, unit.path) || unit.path;
            try {
              const head = await this.limiter.run(() => this.engine.estimate(unit, settings));
              const base = await this.limiter.run(() => this.engine.estimateAt(unit, settings, rev));
              if (head.head === null) return { title, diff: null, error: `Not estimated: ${head.error ?? "see the Problems panel"}` };
              if (base === null) return { title, diff: null, error: `No revision ${rev} to compare with (not a git repository, or no such branch).` };
              return { title, diff: diffEstimates(base ?? EMPTY_ESTIMATE, head.head) };
            } catch (error) {
              return { title, diff: null, error: (error as Error).message };
            }
          }),
        ),
    );
    const document = await vscode.workspace.openTextDocument({ language: "markdown", content: diffReport(sections, rev) });
    await vscode.window.showTextDocument(document, { preview: true });
    void vscode.commands.executeCommand("markdown.showPreviewToSide", document.uri);
  }

  private async editUsage(address: string, type: string): Promise<void> {
    const folder = folders()[0];
    if (folder === undefined) return;
    const name = config().get<string>("usageFile", "outlay-usage.yml");
    const path = isAbsolute(name) ? name : join(folder, name);
    const existing = safeRead(path);
    const edit = usageEntry(existing, address, type);
    if (edit.added) writeFileSync(path, edit.text);
    const document = await vscode.workspace.openTextDocument(path);
    const editor = await vscode.window.showTextDocument(document);
    const position = document.positionAt(edit.offset);
    editor.selection = new vscode.Selection(position, position);
    editor.revealRange(new vscode.Range(position, position));
  }

  private async showResource(uri: vscode.Uri, key: string): Promise<void> {
    const document = await vscode.workspace.openTextDocument(uri);
    const view = this.viewOf(document);
    const block = view?.blocks.find((b) => b.key === key);
    if (!block) return;
    const editor = await vscode.window.showTextDocument(document);
    const position = document.positionAt(block.headerStart);
    editor.selection = new vscode.Selection(position, position);
    await vscode.commands.executeCommand("editor.action.showHover");
  }
}

/** positionAt over a file's text that is not open in an editor (diagnostics of closed files). */
class TextPositions {
  private readonly lines: LineIndex;

  constructor(
    readonly uri: vscode.Uri,
    text: string,
  ) {
    this.lines = new LineIndex(text);
  }

  positionAt(offset: number): vscode.Position {
    const { line, character } = this.lines.position(offset);
    return new vscode.Position(line, character);
  }
}

function safeRead(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

let controller: Controller | null = null;

/** The extension's API: `ready` settles when the CLI is checked and the first workspace estimate is done. */
export interface OutlayApi {
  ready: Promise<void>;
}

export function activate(context: vscode.ExtensionContext): OutlayApi {
  controller = new Controller(context);
  context.subscriptions.push(controller);
  const ready = controller.start().catch((error: unknown) => {
    void vscode.window.showErrorMessage(`Outlay: ${(error as Error).message}`);
  });
  return { ready };
}

export function deactivate(): void {
  controller?.dispose();
  controller = null;
}
