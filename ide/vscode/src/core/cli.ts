/**
 * The `outlay` CLI as a child process: finding it, checking its version, running it with JSON output, killing it
 * when a newer run makes its answer useless.
 */

import { spawn } from "node:child_process";
import { abortError } from "./scheduler";

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes (git cat-file --batch counts bytes, not characters). */
  stdoutBytes?: Buffer;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  stdin?: string;
}

export type Runner = (command: string, args: string[], options?: RunOptions) => Promise<RunResult>;

export class CliMissingError extends Error {
  constructor(readonly command: string) {
    super(`the outlay CLI was not found (${command})`);
  }
}

/** Runs `command`; a missing executable is a CliMissingError, an aborted run an AbortError (the child is killed). */
export const spawnRunner: Runner = (command, args, options = {}) =>
  new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(abortError());
      return;
    }
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
      windowsHide: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    const onAbort = (): void => {
      child.kill("SIGTERM");
      if (!settled) {
        settled = true;
        reject(abortError());
      }
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (error: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener("abort", onAbort);
      if (settled) return;
      settled = true;
      reject(error.code === "ENOENT" || error.code === "EACCES" ? new CliMissingError(command) : error);
    });
    child.on("close", (code) => {
      options.signal?.removeEventListener("abort", onAbort);
      if (settled) return;
      settled = true;
      const bytes = Buffer.concat(stdout);
      resolve({ code, stdout: bytes.toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8"), stdoutBytes: bytes });
    });
    child.stdin.on("error", () => undefined); // a child that exits before reading its input
    child.stdin.end(options.stdin ?? "");
  });

/** The oldest CLI this extension works with: the first with `outlay --version` and estimate JSON schema "1". */
export const MIN_VERSION = "0.1.0";

/**
 * The extension also needs `outlay gate --format json` (gate JSON schema "1"), which came after 0.1.0 without a new
 * version number: it is detected by the option itself. Click parses every option before acting on `--help`, so an
 * older CLI refuses this with exit 2 ("No such option: --format") and a newer one prints the help and exits 0.
 */
export const GATE_JSON_PROBE = ["gate", "--format", "json", "--help"];

export const INSTALL_HINT =
  "Install it from an Outlay checkout (`make setup`, or `pip install -e .` in a virtualenv), then set " +
  "`outlay.cliPath` to its `outlay` executable (or put it on PATH, or set OUTLAY_CLI).";

/**
 * Where the CLI is: the `outlay.cliPath` setting, else OUTLAY_CLI, else a workspace folder's .venv/bin/outlay,
 * else `outlay` on PATH.
 */
export function resolveCli(
  setting: string,
  env: NodeJS.ProcessEnv,
  workspaceFolders: string[],
  exists: (path: string) => boolean,
  platform: NodeJS.Platform = process.platform,
): string {
  if (setting.trim()) return setting.trim();
  if (env.OUTLAY_CLI?.trim()) return env.OUTLAY_CLI.trim();
  const relative = platform === "win32" ? [".venv", "Scripts", "outlay.exe"] : [".venv", "bin", "outlay"];
  for (const folder of workspaceFolders) {
    const candidate = [folder, ...relative].join(platform === "win32" ? "\\" : "/");
    if (exists(candidate)) return candidate;
  }
  return "outlay";
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length, 3); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export type CliStatus =
  | { ok: true; version: string }
  | { ok: false; reason: "missing" | "too-old" | "broken"; message: string };

export async function checkCli(runner: Runner, cli: string): Promise<CliStatus> {
  let result: RunResult;
  try {
    result = await runner(cli, ["--version"]);
  } catch (error) {
    if (error instanceof CliMissingError) {
      return { ok: false, reason: "missing", message: `The outlay CLI was not found at \`${cli}\`. ${INSTALL_HINT}` };
    }
    return { ok: false, reason: "broken", message: `The outlay CLI at \`${cli}\` could not run: ${(error as Error).message}` };
  }
  const match = /outlay\s+v?(\d+\.\d+(?:\.\d+)?\S*)/i.exec(result.stdout);
  if (result.code !== 0 || match === null) {
    const noSuchOption = /no such option|unrecognized|unknown option/i.test(result.stderr + result.stdout);
    if (noSuchOption || result.code === 2) {
      return {
        ok: false,
        reason: "too-old",
        message: `The outlay CLI at \`${cli}\` is too old (it has no \`--version\`); this extension needs ${MIN_VERSION} or newer. ${INSTALL_HINT}`,
      };
    }
    return {
      ok: false,
      reason: "broken",
      message: `\`${cli} --version\` failed (exit ${String(result.code)}): ${(result.stderr || result.stdout).trim().slice(0, 300)}`,
    };
  }
  const version = match[1] as string;
  if (compareVersions(version, MIN_VERSION) < 0) {
    return {
      ok: false,
      reason: "too-old",
      message: `The outlay CLI at \`${cli}\` is ${version}; this extension needs ${MIN_VERSION} or newer. ${INSTALL_HINT}`,
    };
  }
  let probe: RunResult;
  try {
    probe = await runner(cli, GATE_JSON_PROBE);
  } catch (error) {
    return { ok: false, reason: "broken", message: `The outlay CLI at \`${cli}\` could not run: ${(error as Error).message}` };
  }
  if (probe.code !== 0) {
    const noSuchOption = /no such option|unrecognized|unknown option|invalid value/i.test(probe.stderr + probe.stdout);
    if (noSuchOption || probe.code === 2) {
      return {
        ok: false,
        reason: "too-old",
        message: `The outlay CLI at \`${cli}\` (${version}) is too old: its \`outlay gate\` has no \`--format json\`, which this extension needs. ${INSTALL_HINT}`,
      };
    }
    return {
      ok: false,
      reason: "broken",
      message: `\`${cli} ${GATE_JSON_PROBE.join(" ")}\` failed (exit ${String(probe.code)}): ${(probe.stderr || probe.stdout).trim().slice(0, 300)}`,
    };
  }
  return { ok: true, version };
}
