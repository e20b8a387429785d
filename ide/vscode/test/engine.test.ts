import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ResultCache } from "../src/core/cache";
import { checkCli, CliMissingError, resolveCli, type Runner, spawnRunner } from "../src/core/cli";
import { Engine, type Settings, unitOf } from "../src/core/engine";
import { Git, Snapshots } from "../src/core/git";
import { buildLenses } from "../src/core/lenses";
import { isAbort, Limiter, Scheduler } from "../src/core/scheduler";
import { terraformBlocks } from "../src/core/terraform";
import { disallowedTypes, estimateJson, gateJson, missingTags, priced, estimate } from "./helpers";

const SETTINGS: Settings = { cli: "outlay", region: "us-east-1", usageFile: null, policyFile: null, apiUrl: null, apiKey: null };

describe("Scheduler", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("debounces: only the last of quick saves runs, after the delay", async () => {
    const scheduler = new Scheduler(500);
    const runs: number[] = [];
    for (let i = 1; i <= 3; i++) {
      scheduler.schedule("unit", async () => void runs.push(i));
      await vi.advanceTimersByTimeAsync(200);
    }
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(300);
    expect(runs).toEqual([3]);
    expect(scheduler.isPending("unit")).toBe(false);
  });

  it("aborts a run still going when a newer one starts, per key", async () => {
    const scheduler = new Scheduler(100);
    const signals: AbortSignal[] = [];
    const release: (() => void)[] = [];
    const job = (signal: AbortSignal): Promise<void> => {
      signals.push(signal);
      return new Promise((resolve) => release.push(resolve));
    };
    scheduler.schedule("a", job);
    scheduler.schedule("b", job);
    await vi.advanceTimersByTimeAsync(100);
    expect(signals).toHaveLength(2);
    scheduler.schedule("a", job);
    await vi.advanceTimersByTimeAsync(100);
    expect(signals.map((s) => s.aborted)).toEqual([true, false, false]);
    for (const r of release) r();
    scheduler.cancel("b");
    expect(signals[1]!.aborted).toBe(true);
  });

  it("limits how many run at once, in order", async () => {
    vi.useRealTimers();
    const limiter = new Limiter(2);
    const gates: (() => void)[] = [];
    const started: number[] = [];
    const tasks = [1, 2, 3].map((n) =>
      limiter.run(() => {
        started.push(n);
        return new Promise<void>((resolve) => gates.push(resolve));
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([1, 2]);
    gates[0]!();
    await tasks[0];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([1, 2, 3]);
    gates[1]!();
    gates[2]!();
    await Promise.all(tasks);
    expect(limiter.activeCount).toBe(0);
  });
});

describe("ResultCache", () => {
  it("answers while the fingerprint is the same, and forgets the least recently used", () => {
    const cache = new ResultCache<number>(2);
    cache.set("a", "f1", 1);
    cache.set("b", "f1", 2);
    expect(cache.get("a", "f1")).toBe(1);
    expect(cache.get("a", "f2")).toBeUndefined();
    expect(cache.latest("a")).toBe(1);
    cache.set("c", "f1", 3); // b is the least recently used now
    expect(cache.keys().sort()).toEqual(["a", "c"]);
  });
});

describe("Engine", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "outlay-engine-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function fakeCli(calls: string[][]): Runner {
    return async (_command, args) => {
      calls.push(args);
      const path = args[1] ?? "";
      return { code: 0, stdout: estimateJson([priced(`aws_instance.${path.split("/").pop() ?? "x"}`, "10")]), stderr: "" };
    };
  }

  it("estimates only the units whose files changed; the rest come from the cache", async () => {
    for (const name of ["a", "b"]) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, "main.tf"), `resource "aws_instance" "${name}" {}\n`);
    }
    const calls: string[][] = [];
    const engine = new Engine(fakeCli(calls), null, null);
    const a = unitOf(join(dir, "a", "main.tf"), "terraform");
    const b = unitOf(join(dir, "b", "main.tf"), "terraform");
    await engine.estimate(a, SETTINGS);
    await engine.estimate(b, SETTINGS);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toEqual(["estimate", join(dir, "a"), "--format", "json", "--region", "us-east-1"]);
    writeFileSync(join(dir, "b", "main.tf"), `resource "aws_instance" "b" { instance_type = "m5.large" }\n`);
    const again = await engine.estimate(a, SETTINGS);
    await engine.estimate(b, SETTINGS);
    expect(calls.map((c) => c[1])).toEqual([join(dir, "a"), join(dir, "b"), join(dir, "b")]);
    expect(again.head?.monthlyCost.toString()).toBe("10");
    expect(again.base).toBeNull(); // no git: nothing to compare with
  });

  it("runs the gate with --format json and takes its findings from the details; a refused policy is its error", async () => {
    mkdirSync(join(dir, "infra"));
    writeFileSync(join(dir, "infra", "main.tf"), 'resource "aws_instance" "web" {}\n');
    const policy = join(dir, "outlay-policy.yml");
    writeFileSync(policy, "required_tags: [team]\n");
    const calls: string[][] = [];
    let gateOut = { code: 1, stdout: gateJson([missingTags(["aws_instance.web", ["team"]]), disallowedTypes(["m7g"], ["aws_instance.web", "m5.large"])]), stderr: "" };
    const runner: Runner = async (_command, args) => {
      calls.push(args);
      if (args[0] === "gate") return gateOut;
      return { code: 0, stdout: estimateJson([priced("aws_instance.web", "10")]), stderr: "" };
    };
    const engine = new Engine(runner, null, null);
    const unit = unitOf(join(dir, "infra", "main.tf"), "terraform");
    const result = await engine.estimate(unit, { ...SETTINGS, policyFile: policy });
    expect(calls.find((c) => c[0] === "gate")).toEqual(["gate", "--head", join(dir, "infra"), "--policy", policy, "--format", "json", "--region", "us-east-1"]);
    expect(result.gateError).toBeNull();
    expect(result.findings.map((f) => [f.address, f.fix?.kind])).toEqual([
      ["aws_instance.web", "tags"],
      ["aws_instance.web", "instanceType"],
    ]);
    gateOut = { code: 2, stdout: "", stderr: "policy.yml: required_tag: Extra inputs are not permitted" };
    writeFileSync(policy, "required_tag: [team]\n");
    const refused = await engine.estimate(unit, { ...SETTINGS, policyFile: policy });
    expect(refused.gateError).toBe("policy.yml: required_tag: Extra inputs are not permitted");
    expect(refused.findings).toEqual([]);
    gateOut = { code: 0, stdout: '{"schema_version": "2"}', stderr: "" };
    writeFileSync(policy, "required_tags: [env]\n");
    const newer = await engine.estimate(unit, { ...SETTINGS, policyFile: policy });
    expect(newer.gateError).toMatch(/gate JSON schema_version "2"; this extension reads version 1/);
  });

  it("re-estimates a caller when a local module it uses changes", async () => {
    mkdirSync(join(dir, "root"));
    mkdirSync(join(dir, "modules", "net"), { recursive: true });
    writeFileSync(join(dir, "root", "main.tf"), 'module "net" {\n  source = "../modules/net"\n}\n');
    writeFileSync(join(dir, "modules", "net", "main.tf"), 'resource "aws_nat_gateway" "x" {}\n');
    const calls: string[][] = [];
    const engine = new Engine(fakeCli(calls), null, null);
    const root = unitOf(join(dir, "root", "main.tf"), "terraform");
    await engine.estimate(root, SETTINGS);
    await engine.estimate(root, SETTINGS);
    expect(calls).toHaveLength(1);
    writeFileSync(join(dir, "modules", "net", "main.tf"), 'resource "aws_nat_gateway" "y" {}\n');
    await engine.estimate(root, SETTINGS);
    expect(calls).toHaveLength(2);
  });

  it("turns an input the CLI refuses into a file error, not an exception", async () => {
    const file = join(dir, "stack.yaml");
    writeFileSync(file, "Resources:\n  A: [\n");
    const runner: Runner = async () => ({ code: 2, stdout: "", stderr: `${file}: not YAML (line 3, column 1)\n` });
    const result = await new Engine(runner, null, null).estimate(unitOf(file, "cloudformation"), SETTINGS);
    expect(result.head).toBeNull();
    expect(result.fileErrors.get(file)).toBe("not YAML (line 3, column 1)");
  });

  it("estimates the last committed version from a snapshot of the repository", async () => {
    const git = (...args: string[]): string => execFileSync("git", args, { cwd: dir, encoding: "utf8" });
    git("init", "-q", "-b", "main");
    git("config", "user.email", "t@example.com");
    git("config", "user.name", "t");
    mkdirSync(join(dir, "infra"));
    writeFileSync(join(dir, "infra", "main.tf"), 'resource "aws_instance" "web" { instance_type = "t3.micro" }\n');
    git("add", ".");
    git("commit", "-q", "-m", "one");
    writeFileSync(join(dir, "infra", "main.tf"), 'resource "aws_instance" "web" { instance_type = "m5.large" }\n');
    const seen: { path: string; text: string }[] = [];
    const runner: Runner = async (command, args, options) => {
      if (command === "git") return spawnRunner(command, args, options);
      const path = args[1] as string;
      const text = readFileSync(join(path, "main.tf"), "utf8");
      seen.push({ path, text });
      return { code: 0, stdout: estimateJson([priced("aws_instance.web", text.includes("m5.large") ? "70.08" : "7.592")]), stderr: "" };
    };
    const snapshots = new Snapshots(new Git(runner));
    try {
      const engine = new Engine(runner, new Git(runner), snapshots);
      const unit = unitOf(join(dir, "infra", "main.tf"), "terraform");
      const result = await engine.estimate(unit, SETTINGS);
      expect(seen.map((s) => s.text.includes("t3.micro"))).toEqual([true, false]); // the base first, then as saved
      expect(seen[0]!.path).not.toBe(join(dir, "infra"));
      const lens = buildLenses(terraformBlocks(readFileSync(join(dir, "infra", "main.tf"), "utf8")), result.head!, result.base)[0]!;
      expect(lens.title).toBe("$70.08/mo, +$62.49");
      const atMain = await engine.estimateAt(unit, SETTINGS, "main");
      expect(atMain?.monthlyCost.toString()).toBe("7.592");
      expect(await engine.estimateAt(unit, SETTINGS, "no-such-branch")).toBeNull();
    } finally {
      snapshots.dispose();
    }
  });

  // Speed is not asserted here (timed tests flake on a busy machine): this checks a 2,000-resource file is handled whole.
  it("builds a lens for every resource of a 2,000-resource file", () => {
    const text = Array.from({ length: 2000 }, (_, i) => `resource "aws_instance" "r${i}" {\n  instance_type = "t3.micro"\n  tags = { n = "${i}" }\n}\n`).join("\n");
    const head = estimate(Array.from({ length: 2000 }, (_, i) => priced(`aws_instance.r${i}`, "7.592")));
    const lenses = buildLenses(terraformBlocks(text), head, head);
    expect(lenses).toHaveLength(2000);
    expect(lenses[1999]!.title).toBe("$7.59/mo");
  });
});

describe("the CLI", () => {
  it("is found from the setting, OUTLAY_CLI, the workspace's .venv, then PATH", () => {
    const exists = (p: string): boolean => p === "/ws2/.venv/bin/outlay";
    expect(resolveCli(" /opt/outlay ", {}, ["/ws"], exists)).toBe("/opt/outlay");
    expect(resolveCli("", { OUTLAY_CLI: "/x/outlay" }, ["/ws"], exists)).toBe("/x/outlay");
    expect(resolveCli("", {}, ["/ws", "/ws2"], exists)).toBe("/ws2/.venv/bin/outlay");
    expect(resolveCli("", {}, ["/ws"], exists)).toBe("outlay");
  });

  it("says clearly when it is missing, too old or fine", async () => {
    const missing: Runner = async (command) => {
      throw new CliMissingError(command);
    };
    const missingStatus = await checkCli(missing, "/nope/outlay");
    expect(missingStatus).toMatchObject({ ok: false, reason: "missing" });
    expect(missingStatus.ok ? "" : missingStatus.message).toContain("outlay.cliPath");
    const old: Runner = async () => ({ code: 2, stdout: "", stderr: "Error: No such option: --version" });
    expect(await checkCli(old, "outlay")).toMatchObject({ ok: false, reason: "too-old" });
    const older: Runner = async () => ({ code: 0, stdout: "outlay 0.0.9\n", stderr: "" });
    expect(await checkCli(older, "outlay")).toMatchObject({ ok: false, reason: "too-old" });
    const probes: string[][] = [];
    const fine: Runner = async (_command, args) => {
      probes.push(args);
      return { code: 0, stdout: args[0] === "--version" ? "outlay 0.1.0\n" : "Usage: outlay gate [OPTIONS]\n", stderr: "" };
    };
    expect(await checkCli(fine, "outlay")).toEqual({ ok: true, version: "0.1.0" });
    expect(probes).toEqual([["--version"], ["gate", "--format", "json", "--help"]]);
    // 0.1.0 before `outlay gate --format json`: the same version number, but the option is refused.
    const noGateJson: Runner = async (_command, args) =>
      args[0] === "--version" ? { code: 0, stdout: "outlay 0.1.0\n", stderr: "" } : { code: 2, stdout: "", stderr: "Usage: outlay gate [OPTIONS]\nError: No such option: --format\n" };
    const status = await checkCli(noGateJson, "outlay");
    expect(status).toMatchObject({ ok: false, reason: "too-old" });
    expect(status.ok ? "" : status.message).toContain("has no `--format json`");
    const crashing: Runner = async (_command, args) =>
      args[0] === "--version" ? { code: 0, stdout: "outlay 0.1.0\n", stderr: "" } : { code: 1, stdout: "", stderr: "Traceback: boom" };
    const crashed = await checkCli(crashing, "outlay");
    expect(crashed).toMatchObject({ ok: false, reason: "broken" });
    expect(crashed.ok ? "" : crashed.message).toContain("Traceback: boom");
  });

  it("runs a real child process, reports a missing executable, and kills a cancelled run", async () => {
    const done = await spawnRunner(process.execPath, ["-e", "process.stdout.write(require('fs').readFileSync(0, 'utf8').toUpperCase())"], { stdin: "abc" });
    expect(done).toMatchObject({ code: 0, stdout: "ABC" });
    await expect(spawnRunner("/no/such/outlay-cli", [])).rejects.toBeInstanceOf(CliMissingError);
    const controller = new AbortController();
    const started = Date.now();
    const running = spawnRunner(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { signal: controller.signal });
    controller.abort();
    const error = await running.catch((e: unknown) => e);
    expect(isAbort(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
