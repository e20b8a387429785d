/**
 * A small stand-in for the `vscode` module: the classes and enums the adapter builds, with the behaviour it relies
 * on (ranges that intersect, edits that can be applied to a text). Aliased as "vscode" in vitest.config.ts.
 */

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}

  isBefore(other: Position): boolean {
    return this.line < other.line || (this.line === other.line && this.character < other.character);
  }

  isAfter(other: Position): boolean {
    return other.isBefore(this);
  }
}

export class Range {
  readonly start: Position;
  readonly end: Position;

  constructor(start: Position | number, end: Position | number, endLine?: number, endCharacter?: number) {
    if (typeof start === "number" && typeof end === "number") {
      this.start = new Position(start, end);
      this.end = new Position(endLine ?? start, endCharacter ?? end);
    } else {
      this.start = start as Position;
      this.end = end as Position;
    }
  }

  intersection(other: Range): Range | undefined {
    const start = this.start.isBefore(other.start) ? other.start : this.start;
    const end = this.end.isBefore(other.end) ? this.end : other.end;
    return start.isAfter(end) ? undefined : new Range(start, end);
  }
}

export class Selection extends Range {}

export class Uri {
  private constructor(readonly fsPath: string) {}

  static file(path: string): Uri {
    return new Uri(path);
  }

  static parse(text: string): Uri {
    return new Uri(text);
  }

  toString(): string {
    return `file://${this.fsPath}`;
  }
}

export interface Command {
  title: string;
  command: string;
  tooltip?: string;
  arguments?: unknown[];
}

export class CodeLens {
  constructor(
    readonly range: Range,
    readonly command?: Command,
  ) {}
}

export class MarkdownString {
  isTrusted: boolean | { enabledCommands: string[] } = false;

  constructor(readonly value = "") {}
}

export class Hover {
  readonly contents: MarkdownString[];

  constructor(contents: MarkdownString) {
    this.contents = [contents];
  }
}

export enum DiagnosticSeverity {
  Error = 0,
  Warning = 1,
  Information = 2,
  Hint = 3,
}

export class Diagnostic {
  source?: string;
  code?: string | number;

  constructor(
    readonly range: Range,
    readonly message: string,
    readonly severity: DiagnosticSeverity = DiagnosticSeverity.Error,
  ) {}
}

export class CodeActionKind {
  static readonly QuickFix = new CodeActionKind("quickfix");

  private constructor(readonly value: string) {}
}

export class WorkspaceEdit {
  readonly edits: { uri: Uri; range: Range; newText: string }[] = [];

  replace(uri: Uri, range: Range, newText: string): void {
    this.edits.push({ uri, range, newText });
  }
}

export class CodeAction {
  edit?: WorkspaceEdit;
  diagnostics?: Diagnostic[];
  isPreferred?: boolean;

  constructor(
    readonly title: string,
    readonly kind?: CodeActionKind,
  ) {}
}

export class EventEmitter<T> {
  private readonly listeners: ((value: T) => void)[] = [];

  readonly event = (listener: (value: T) => void): { dispose(): void } => {
    this.listeners.push(listener);
    return { dispose: () => this.listeners.splice(this.listeners.indexOf(listener), 1) };
  };

  fire(value: T): void {
    for (const listener of [...this.listeners]) listener(value);
  }

  dispose(): void {
    this.listeners.length = 0;
  }
}

/** A text document over a string, with the offset ↔ position mapping VS Code's has. */
export class FakeDocument {
  readonly uri: Uri;
  version = 1;

  constructor(
    path: string,
    private text: string,
  ) {
    this.uri = Uri.file(path);
  }

  getText(): string {
    return this.text;
  }

  positionAt(offset: number): Position {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    const before = this.text.slice(0, clamped);
    const line = before.split("\n").length - 1;
    return new Position(line, clamped - (before.lastIndexOf("\n") + 1));
  }

  offsetAt(position: Position): number {
    const lines = this.text.split("\n");
    let offset = 0;
    for (let i = 0; i < position.line && i < lines.length; i++) offset += (lines[i] as string).length + 1;
    return offset + position.character;
  }

  /** The text after applying a WorkspaceEdit's replacements (last first, so earlier offsets stay right). */
  applied(edit: WorkspaceEdit): string {
    const spans = edit.edits
      .map((e) => ({ start: this.offsetAt(e.range.start), end: this.offsetAt(e.range.end), text: e.newText }))
      .sort((a, b) => b.start - a.start);
    let text = this.text;
    for (const span of spans) text = text.slice(0, span.start) + span.text + text.slice(span.end);
    return text;
  }
}

// ---- The editor around the providers, for activating the extension in a test: what it registers and shows.

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

export class FakeStatusBarItem {
  text = "";
  tooltip: string | undefined;
  command: string | undefined;
  visible = false;

  show(): void {
    this.visible = true;
  }

  hide(): void {
    this.visible = false;
  }

  dispose(): void {
    this.visible = false;
  }
}

const disposable = { dispose: (): void => undefined };

/** What the fake editor was asked to do; reset between tests with `resetFake`. */
export const fake = {
  settings: {} as Record<string, unknown>,
  folders: [] as string[],
  files: [] as string[],
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  diagnostics: new Map<string, Diagnostic[]>(),
  statusItems: [] as FakeStatusBarItem[],
  errors: [] as string[],
  infos: [] as string[],
  secrets: new Map<string, string>(),
};

export function resetFake(): void {
  fake.settings = {};
  fake.folders = [];
  fake.files = [];
  fake.commands.clear();
  fake.diagnostics.clear();
  fake.statusItems = [];
  fake.errors = [];
  fake.infos = [];
  fake.secrets.clear();
}

export const window = {
  createOutputChannel: () => ({ appendLine: (): void => undefined, show: (): void => undefined, dispose: (): void => undefined }),
  createStatusBarItem: () => {
    const item = new FakeStatusBarItem();
    fake.statusItems.push(item);
    return item;
  },
  showErrorMessage: async (message: string) => {
    fake.errors.push(message);
    return undefined;
  },
  showWarningMessage: async (message: string) => {
    fake.errors.push(message);
    return undefined;
  },
  showInformationMessage: async (message: string) => {
    fake.infos.push(message);
    return undefined;
  },
  withProgress: async <T>(_options: unknown, task: () => Promise<T>): Promise<T> => task(),
};

export const languages = {
  createDiagnosticCollection: () => ({
    set: (uri: Uri, diagnostics: Diagnostic[]) => void fake.diagnostics.set(uri.fsPath, diagnostics),
    delete: (uri: Uri) => void fake.diagnostics.delete(uri.fsPath),
    dispose: (): void => undefined,
  }),
  registerCodeLensProvider: () => disposable,
  registerHoverProvider: () => disposable,
  registerCodeActionsProvider: () => disposable,
};

export const commands = {
  registerCommand: (name: string, handler: (...args: unknown[]) => unknown) => {
    fake.commands.set(name, handler);
    return disposable;
  },
  executeCommand: async (): Promise<undefined> => undefined,
};

export const workspace = {
  get workspaceFolders() {
    return fake.folders.map((path) => ({ uri: Uri.file(path) }));
  },
  textDocuments: [] as FakeDocument[],
  getConfiguration: () => ({
    get: <T>(key: string, fallback: T): T => (key in fake.settings ? (fake.settings[key] as T) : fallback),
  }),
  findFiles: async () => fake.files.map((path) => Uri.file(path)),
  onDidSaveTextDocument: () => disposable,
  onDidChangeConfiguration: () => disposable,
};

export const env = { openExternal: async (): Promise<boolean> => true };

/** The ExtensionContext parts the extension uses: subscriptions and SecretStorage. */
export function fakeContext(): { subscriptions: { dispose(): void }[]; secrets: unknown } {
  return {
    subscriptions: [],
    secrets: {
      get: async (key: string) => fake.secrets.get(key),
      store: async (key: string, value: string) => void fake.secrets.set(key, value),
      delete: async (key: string) => void fake.secrets.delete(key),
      onDidChange: () => disposable,
    },
  };
}
