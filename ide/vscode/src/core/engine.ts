/**
 * Estimating the workspace one unit at a time (a Terraform directory, or one CloudFormation template): the CLI's
 * estimate of the unit as saved, of the unit at the last commit, and the gate's verdicts, all cached by the
 * inputs' fingerprint so a save re-runs only the unit it touched.
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fingerprint, ResultCache } from "./cache";
import { type Runner } from "./cli";
import { EMPTY_ESTIMATE, type Estimate, parseEstimate, SchemaError } from "./estimate";
import { type Finding, findingsOf, parseGateJson, type Verdict } from "./gate";
import type { Git, Snapshots } from "./git";
import { abortError } from "./scheduler";
import { terraformBlocks } from "./terraform";

export type UnitKind = "terraform" | "cloudformation";

export interface Unit {
  id: string;
  kind: UnitKind;
  /** A Terraform directory or a template file (absolute). */
  path: string;
}

export interface Settings {
  cli: string;
  region: string;
  /** Absolute paths, null when the file does not exist. */
  usageFile: string | null;
  policyFile: string | null;
  apiUrl: string | null;
  apiKey: string | null;
}

export interface UnitResult {
  unit: Unit;
  head: Estimate | null;
  /** The unit at the last commit; null when there is nothing to compare with (not a git repository). */
  base: Estimate | null;
  /** Files the estimator could not read, with its message (one diagnostic each). */
  fileErrors: Map<string, string>;
  /** The estimator refused the unit as a whole (exit 2 without an estimate), or failed. */
  error: string | null;
  verdicts: Verdict[];
  findings: Finding[];
  /** The gate could not run (an unusable policy file): its message. */
  gateError: string | null;
}

export function unitOf(file: string, kind: UnitKind): Unit {
  const path = kind === "terraform" ? dirname(file) : file;
  return { id: `${kind}:${path}`, kind, path };
}

const TF_FILE = /\.(tf|tfvars|tf\.json)$/;

function posix(path: string): string {
  return path.split(sep).join("/");
}

/** Local module directories a Terraform directory calls (`source = "./modules/x"`), absolute. */
export function localModuleDirs(dir: string): string[] {
  const out: string[] = [];
  for (const name of safeList(dir)) {
    if (!name.endsWith(".tf")) continue;
    const text = safeRead(join(dir, name))?.toString("utf8") ?? "";
    for (const block of terraformBlocks(text)) {
      const source = block.moduleSource;
      if (block.kind === "module" && source !== undefined && (source.startsWith("./") || source.startsWith("../"))) {
        out.push(resolve(dir, source));
      }
    }
  }
  return out;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function safeRead(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

/** The files whose content decides a unit's estimate (a Terraform directory's files and its local modules'). */
export function unitInputs(unit: Unit): string[] {
  if (unit.kind === "cloudformation") return [unit.path];
  const seen = new Set<string>();
  const files: string[] = [];
  const visit = (dir: string, depth: number): void => {
    if (seen.has(dir) || depth > 8) return;
    seen.add(dir);
    for (const name of safeList(dir)) {
      if (TF_FILE.test(name)) files.push(join(dir, name));
    }
    for (const module of localModuleDirs(dir)) visit(module, depth + 1);
  };
  visit(unit.path, 0);
  return files;
}

function looksLikePath(address: string): boolean {
  return /[\\/]/.test(address) && /\.(tf|tf\.json|tfvars|ya?ml|json|template)$/.test(address);
}

export class Engine {
  private readonly results = new ResultCache<UnitResult>();
  private readonly bases = new Map<string, Promise<{ estimate: Estimate | null; path: string | null }>>();
  private readonly commits = new Map<string, { at: number; commit: Promise<string | null> }>();
  private readonly trees = new Map<string, Promise<string[]>>();
  /** How many times the CLI ran, by subcommand (the tests read it; the log shows it). */
  readonly runs = { estimate: 0, gate: 0 };

  constructor(
    private readonly runner: Runner,
    private readonly git: Git | null,
    private readonly snapshots: Snapshots | null,
    private readonly now: () => number = Date.now,
  ) {}

  private settingsKey(settings: Settings): (string | Buffer)[] {
    return [
      settings.cli,
      settings.region,
      settings.usageFile ?? "",
      settings.usageFile ? (safeRead(settings.usageFile) ?? Buffer.alloc(0)) : "",
      settings.policyFile ?? "",
      settings.policyFile ? (safeRead(settings.policyFile) ?? Buffer.alloc(0)) : "",
      settings.apiUrl ?? "",
    ];
  }

  fingerprintOf(unit: Unit, settings: Settings, commit: string | null): string {
    const parts: (string | Buffer)[] = [unit.id, commit ?? "", ...this.settingsKey(settings)];
    for (const file of unitInputs(unit)) {
      parts.push(file, safeRead(file) ?? "");
    }
    return fingerprint(parts);
  }

  /** The last result of a unit, even if its inputs changed since (shown until the next one is ready). */
  latest(unit: Unit): UnitResult | undefined {
    return this.results.latest(unit.id);
  }

  forget(unit: Unit): void {
    this.results.delete(unit.id);
  }

  forgetAll(): void {
    this.results.clear();
    this.bases.clear();
    this.commits.clear();
    this.trees.clear();
  }

  cachedUnits(): string[] {
    return this.results.keys();
  }

  private async commitOf(root: string, rev: string): Promise<string | null> {
    if (this.git === null) return null;
    const key = `${root}\0${rev}`;
    const cached = this.commits.get(key);
    if (cached !== undefined && this.now() - cached.at < 2000) return cached.commit;
    const commit = this.git.commit(root, rev);
    this.commits.set(key, { at: this.now(), commit });
    return commit;
  }

  private async rootOf(unit: Unit): Promise<string | null> {
    if (this.git === null) return null;
    return this.git.root(unit.kind === "terraform" ? unit.path : dirname(unit.path));
  }

  /** The unit as saved: cached while its files and settings are the same. */
  async estimate(unit: Unit, settings: Settings, signal?: AbortSignal): Promise<UnitResult> {
    const root = await this.rootOf(unit);
    const commit = root === null ? null : await this.commitOf(root, "HEAD");
    const key = this.fingerprintOf(unit, settings, commit);
    const cached = this.results.get(unit.id, key);
    if (cached !== undefined) return cached;
    const base = root === null ? { estimate: null, path: null } : await this.at(unit, settings, root, commit, signal);
    const [head, gate] = await Promise.all([
      this.runEstimate(unit.path, settings, signal),
      settings.policyFile ? this.runGate(unit.path, base.path, settings, signal) : Promise.resolve(null),
    ]);
    if (signal?.aborted) throw abortError();
    const fileErrors = new Map<string, string>();
    let estimate = head.estimate;
    if (estimate !== null) {
      const [paths, rest] = [estimate.problems.filter((p) => looksLikePath(p.address)), estimate.problems.filter((p) => !looksLikePath(p.address))];
      for (const p of paths) fileErrors.set(isAbsolute(p.address) ? p.address : resolve(unit.path, p.address), p.message);
      estimate = { ...estimate, problems: rest };
    } else if (head.error !== null) {
      const named = /^(\S+?):\s/.exec(head.error);
      const file = named && looksLikePath(named[1] as string) ? resolve(named[1] as string) : null;
      if (file !== null) fileErrors.set(file, head.error.slice((named?.[0] ?? "").length));
      else if (unit.kind === "cloudformation") fileErrors.set(unit.path, head.error);
    }
    const verdicts = gate?.verdicts ?? [];
    const result: UnitResult = {
      unit,
      head: estimate,
      base: base.estimate,
      fileErrors,
      error: head.error,
      verdicts,
      findings: findingsOf(verdicts),
      gateError: gate?.error ?? null,
    };
    this.results.set(unit.id, key, result);
    return result;
  }

  /** The unit at `rev` (default: the last commit), or null outside a repository; the empty estimate when absent. */
  async estimateAt(unit: Unit, settings: Settings, rev: string, signal?: AbortSignal): Promise<Estimate | null> {
    const root = await this.rootOf(unit);
    if (root === null) return null;
    const commit = await this.commitOf(root, rev);
    if (commit === null) return null;
    return (await this.at(unit, settings, root, commit, signal)).estimate;
  }

  private at(
    unit: Unit,
    settings: Settings,
    root: string,
    commit: string | null,
    signal?: AbortSignal,
  ): Promise<{ estimate: Estimate | null; path: string | null }> {
    if (commit === null || this.git === null || this.snapshots === null) {
      // A repository without commits: everything is new.
      return Promise.resolve({ estimate: commit === null && this.git !== null ? EMPTY_ESTIMATE : null, path: null });
    }
    const key = fingerprint([unit.id, commit, ...this.settingsKey(settings)]);
    let found = this.bases.get(key);
    if (found === undefined) {
      found = this.materialise(unit, settings, root, commit, signal);
      this.bases.set(key, found);
      found.catch(() => this.bases.delete(key)); // a cancelled run is tried again next time
    }
    return found;
  }

  private async materialise(
    unit: Unit,
    settings: Settings,
    root: string,
    commit: string,
    signal?: AbortSignal,
  ): Promise<{ estimate: Estimate | null; path: string | null }> {
    const git = this.git as Git;
    const snapshots = this.snapshots as Snapshots;
    const rel = posix(relative(root, unit.path));
    let path: string;
    if (unit.kind === "terraform") {
      let tree = this.trees.get(`${root}\0${commit}`);
      if (tree === undefined) {
        tree = git.files(root, commit, (p) => TF_FILE.test(p));
        this.trees.set(`${root}\0${commit}`, tree);
      }
      const files = await tree;
      const inUnit = files.filter((f) => posix(dirname(f)) === (rel === "" ? "." : rel));
      if (inUnit.length === 0) return { estimate: EMPTY_ESTIMATE, path: null };
      const snap = await snapshots.ensure(root, commit, files);
      path = join(snap.dir, rel);
    } else {
      const snap = await snapshots.ensure(root, commit, [rel]);
      if (!snap.present.has(rel)) return { estimate: EMPTY_ESTIMATE, path: null };
      path = join(snap.dir, rel);
    }
    const result = await this.runEstimate(path, settings, signal);
    if (signal?.aborted) throw abortError();
    // A committed version the estimator cannot read has no cost to compare with.
    return { estimate: result.estimate, path: result.estimate ? path : null };
  }

  private commonArgs(settings: Settings): string[] {
    const args = ["--region", settings.region];
    if (settings.usageFile) args.push("--usage-file", settings.usageFile);
    return args;
  }

  private env(settings: Settings): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { NO_COLOR: "1", TERM: "dumb", COLUMNS: "250" };
    if (settings.apiUrl) env.OUTLAY_API_URL = settings.apiUrl;
    if (settings.apiKey) env.OUTLAY_API_KEY = settings.apiKey;
    return env;
  }

  async runEstimate(path: string, settings: Settings, signal?: AbortSignal): Promise<{ estimate: Estimate | null; error: string | null }> {
    this.runs.estimate++;
    const isDir = (() => {
      try {
        return statSync(path).isDirectory();
      } catch {
        return false;
      }
    })();
    const result = await this.runner(settings.cli, ["estimate", path, "--format", "json", ...this.commonArgs(settings)], {
      cwd: isDir ? path : dirname(path),
      env: this.env(settings),
      ...(signal ? { signal } : {}),
    });
    if (result.stdout.trim().startsWith("{")) {
      try {
        return { estimate: parseEstimate(result.stdout), error: null };
      } catch (error) {
        if (error instanceof SchemaError) return { estimate: null, error: error.message };
        throw error;
      }
    }
    const message = result.stderr.trim() || `outlay estimate exited with ${String(result.code)} and printed nothing`;
    return { estimate: null, error: message };
  }

  /** `outlay gate --format json`: its verdicts, or why there are none (an unusable policy file, other JSON). */
  async runGate(head: string, base: string | null, settings: Settings, signal?: AbortSignal): Promise<{ verdicts: Verdict[]; error: string | null }> {
    this.runs.gate++;
    const args = ["gate", "--head", head, "--policy", settings.policyFile as string, "--format", "json"];
    if (base) args.push("--base", base);
    args.push(...this.commonArgs(settings));
    const result = await this.runner(settings.cli, args, { env: this.env(settings), ...(signal ? { signal } : {}) });
    if (result.stdout.trim().startsWith("{")) {
      try {
        return { verdicts: parseGateJson(result.stdout).verdicts, error: null };
      } catch (error) {
        if (error instanceof SchemaError) return { verdicts: [], error: error.message };
        throw error;
      }
    }
    return { verdicts: [], error: result.stderr.trim() || `outlay gate exited with ${String(result.code)} and printed nothing` };
  }
}
