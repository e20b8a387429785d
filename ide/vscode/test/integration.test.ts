/**
 * The extension's numbers against the real `outlay` CLI on the shared test data (Infracost's Terraform test cases
 * and AWS's CloudFormation samples): each lens must say what `outlay estimate` says. Skipped, saying why, when the
 * CLI or the data is not here. OUTLAY_CLI picks the CLI (default: the repository's .venv/bin/outlay),
 * OUTLAY_SHARED_DATA the data (default: ../shared/data beside the repository).
 */

import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkCli, spawnRunner } from "../src/core/cli";
import { Dec } from "../src/core/decimal";
import { Engine, type Settings, unitOf } from "../src/core/engine";
import { Git, Snapshots } from "../src/core/git";
import { money, signedMoney } from "../src/core/money";
import { blockKeyOf } from "../src/core/sources";
import { fileView } from "../src/core/view";

const REPO = resolve(__dirname, "..", "..", "..");
const CLI = process.env.OUTLAY_CLI ?? join(REPO, ".venv", "bin", "outlay");
const DATA = process.env.OUTLAY_SHARED_DATA ?? resolve(REPO, "..", "shared", "data");
const TF_TESTS = join(DATA, "iac_infracost", "internal", "providers", "terraform", "aws", "testdata");
const CFN = join(DATA, "iac_cloudformation");

const missing = [!existsSync(CLI) && `the outlay CLI (${CLI}; set OUTLAY_CLI)`, !existsSync(TF_TESTS) && `the shared data (${DATA}; set OUTLAY_SHARED_DATA)`].filter(Boolean);
if (missing.length) console.warn(`integration tests skipped: ${missing.join(" and ")} not found`);

const settings = (extra: Partial<Settings> = {}): Settings => ({
  cli: CLI,
  region: "us-east-1",
  usageFile: null,
  policyFile: null,
  apiUrl: null,
  apiKey: null,
  ...extra,
});

interface CliResource {
  address: string;
  status: string;
  monthly_cost: string;
}

/** The CLI run directly: its JSON, and the per-resource money it prints in Markdown. */
function cli(path: string, extra: string[] = []): { resources: CliResource[]; printed: Map<string, string> } {
  const run = (format: string): string => {
    try {
      return execFileSync(CLI, ["estimate", path, "--format", format, "--region", "us-east-1", ...extra], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } catch (error) {
      return (error as { stdout: string }).stdout; // exit 2 after printing: a usage key no rule reads
    }
  };
  const json = JSON.parse(run("json")) as { resources: CliResource[] };
  const printed = new Map<string, string>();
  for (const match of run("markdown").matchAll(/^\| `([^`]+)` \| (-?\$[\d,]+\.\d\d) \|$/gm)) printed.set(match[1]!, match[2]!);
  return { resources: json.resources, printed };
}

function checkLenses(file: string, text: string, result: Awaited<ReturnType<Engine["estimate"]>>, expected: ReturnType<typeof cli>): number {
  const view = fileView({ path: file, text, result, unitAnchor: true, policyFile: "p.yml", usageFile: "u.yml" });
  const byBlock = new Map<string, CliResource[]>();
  for (const r of expected.resources) {
    const list = byBlock.get(blockKeyOf(r.address)) ?? [];
    list.push(r);
    byBlock.set(blockKeyOf(r.address), list);
  }
  const pricedBlocks = [...byBlock].filter(([key, rs]) => rs.some((r) => r.status === "priced") && view.blocks.some((b) => b.key === key));
  expect(view.lenses.map((l) => l.block.key).sort()).toEqual(pricedBlocks.map(([key]) => key).sort());
  for (const lens of view.lenses) {
    const resources = byBlock.get(lens.block.key)!;
    const total = resources.reduce((acc, r) => acc.plus(Dec.parse(r.monthly_cost)), Dec.ZERO);
    expect(lens.monthlyCost.compare(total), `${file} ${lens.block.key}`).toBe(0);
    if (resources.length === 1) {
      // The text on the lens is the CLI's own rounding of the same number.
      expect(lens.title.startsWith(`${expected.printed.get(resources[0]!.address)}/mo`), `${lens.title} vs ${expected.printed.get(resources[0]!.address)}`).toBe(true);
    } else {
      expect(lens.title.startsWith(`${money(total)}/mo`)).toBe(true);
    }
  }
  return view.lenses.length;
}

describe.skipIf(missing.length > 0)("against the real outlay CLI", () => {
  const scratch = mkdtempSync(join(tmpdir(), "outlay-it-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("reports the CLI's version", () => {
    expect(execFileSync(CLI, ["--version"], { encoding: "utf8" })).toMatch(/^outlay \d+\.\d+\.\d+/);
  });

  it("passes the CLI check: its version, and `outlay gate --format json`", async () => {
    expect(await checkCli(spawnRunner, CLI)).toMatchObject({ ok: true });
  });

  // A spread of services; OUTLAY_IT_ALL=1 runs every Terraform case and every template (slower).
  const all = process.env.OUTLAY_IT_ALL === "1";
  const tfCases = all
    ? readdirSync(TF_TESTS).filter((n) => existsSync(join(TF_TESTS, n, `${n}.tf`))).sort()
    : ["instance_test", "nat_gateway_test", "lambda_function_test", "db_instance_test", "autoscaling_group_test", "dynamodb_table_test"];

  it.each(tfCases)("Terraform %s: every priced resource has a lens with the CLI's monthly cost", async (name) => {
    const dir = join(TF_TESTS, name);
    const usage = join(dir, `${name}.usage.yml`);
    const usageFile = existsSync(usage) ? usage : null;
    const engine = new Engine(spawnRunner, null, null);
    const file = join(dir, `${name}.tf`);
    const result = await engine.estimate(unitOf(file, "terraform"), settings({ usageFile }));
    expect(result.head, result.error ?? "").not.toBeNull();
    const lenses = checkLenses(file, readFileSync(file, "utf8"), result, cli(dir, usageFile ? ["--usage-file", usageFile] : []));
    expect(lenses).toBeGreaterThan(0);
  });

  const templates = readdirSync(CFN, { recursive: true, encoding: "utf8" })
    .filter((p) => /\.(ya?ml|json)$/.test(p))
    .filter((p) => all || /^(EC2\/EC2InstanceWith|RDS\/RDS_MySQL|VPC\/VPC_With|AutoScaling\/AutoScalingMultiAZ|ElasticLoadBalancing\/NetworkLoad|DynamoDB\/DynamoDB_Table|Lambda\/|EKS\/|EFS\/)/.test(p))
    .sort();

  it("finds the CloudFormation samples", () => {
    expect(templates.length).toBeGreaterThanOrEqual(all ? 20 : 9);
  });

  it.each(templates)("CloudFormation %s: lenses equal the CLI's estimate", async (relative) => {
    const file = join(CFN, relative);
    const engine = new Engine(spawnRunner, null, null);
    const result = await engine.estimate(unitOf(file, "cloudformation"), settings());
    if (result.head === null) {
      // The CLI refused the template: the file gets its one diagnostic, and no lenses.
      const view = fileView({ path: file, text: readFileSync(file, "utf8"), result, unitAnchor: true, policyFile: "p.yml", usageFile: "u.yml" });
      expect(view.diagnostics.map((d) => d.code)).toEqual(["input"]);
      return;
    }
    checkLenses(file, readFileSync(file, "utf8"), result, cli(file));
  });

  it("the change against the last commit equals `outlay diff`'s, per resource", async () => {
    const repo = join(scratch, "diff-repo");
    mkdirSync(repo);
    const git = (...args: string[]): string => execFileSync("git", args, { cwd: repo, encoding: "utf8" });
    git("init", "-q", "-b", "main");
    git("config", "user.email", "t@example.com");
    git("config", "user.name", "t");
    const dir = join(repo, "infra");
    cpSync(join(TF_TESTS, "nat_gateway_test"), dir, { recursive: true });
    cpSync(join(TF_TESTS, "instance_test", "instance_test.tf"), join(repo, "committed-instance.tf"));
    git("add", ".");
    git("commit", "-q", "-m", "base");
    const committed = join(scratch, "committed-nat");
    cpSync(dir, committed, { recursive: true });
    const tf = join(dir, "nat_gateway_test.tf");
    const changed = readFileSync(tf, "utf8") + '\nresource "aws_nat_gateway" "third" {\n  allocation_id = "eip-1"\n  subnet_id     = "subnet-1"\n}\n\nresource "aws_instance" "web" {\n  ami           = "ami-1"\n  instance_type = "m5.large"\n}\n';
    writeFileSync(tf, changed.replace('resource "aws_nat_gateway" "nat" {', 'resource "aws_nat_gateway" "nat" {\n  count = 2'));
    const snapshots = new Snapshots(new Git(spawnRunner));
    try {
      const engine = new Engine(spawnRunner, new Git(spawnRunner), snapshots);
      const result = await engine.estimate(unitOf(tf, "terraform"), settings());
      const view = fileView({ path: tf, text: readFileSync(tf, "utf8"), result, unitAnchor: true, policyFile: "p.yml", usageFile: "u.yml" });
      const out = execFileSync(CLI, ["diff", "--base", committed, "--head", dir, "--format", "json", "--region", "us-east-1"], { encoding: "utf8" });
      const diff = JSON.parse(out) as { monthly_delta: string; resources: { address: string; monthly_delta: string }[] };
      const deltaByBlock = new Map<string, Dec>();
      for (const r of diff.resources) deltaByBlock.set(blockKeyOf(r.address), (deltaByBlock.get(blockKeyOf(r.address)) ?? Dec.ZERO).plus(Dec.parse(r.monthly_delta)));
      expect(view.lenses.map((l) => l.block.key).sort()).toEqual(["aws_instance.web", "aws_nat_gateway.nat", "aws_nat_gateway.nat_withUsage", "aws_nat_gateway.third"]);
      for (const lens of view.lenses) {
        const expected = deltaByBlock.get(lens.block.key) ?? Dec.ZERO;
        expect(lens.delta?.compare(expected), lens.block.key).toBe(0);
        if (!expected.isZero()) expect(lens.title).toContain(signedMoney(expected));
      }
      const total = view.lenses.reduce((acc, l) => acc.plus(l.delta ?? Dec.ZERO), Dec.ZERO);
      expect(total.compare(Dec.parse(diff.monthly_delta))).toBe(0);
      expect(view.lenses.find((l) => l.block.key === "aws_nat_gateway.third")?.title).toBe("$32.85/mo + usage, +$32.85 (new)");
    } finally {
      snapshots.dispose();
    }
  });

  it("gate findings become diagnostics whose quick fixes make the gate pass", async () => {
    const dir = join(scratch, "gate");
    mkdirSync(dir);
    const tf = join(dir, "main.tf");
    writeFileSync(tf, 'provider "aws" {\n  region = "us-east-1"\n}\n\nresource "aws_instance" "web" {\n  ami           = "ami-1"\n  instance_type = "m5.large"\n}\n');
    const policy = join(dir, "outlay-policy.yml");
    writeFileSync(policy, "version: 1\nrequired_tags: [team, env]\nallowed_instance_families: [t4g, m7g]\n");
    const engine = new Engine(spawnRunner, null, null);
    const unit = unitOf(tf, "terraform");
    const before = await engine.estimate(unit, settings({ policyFile: policy }));
    // The verdicts are the CLI's own JSON, details included.
    type GateJson = { passed: boolean; verdicts: { rule: string; passed: boolean; details: Record<string, unknown> }[] };
    const run = (): GateJson => {
      try {
        return JSON.parse(execFileSync(CLI, ["gate", "--head", dir, "--policy", policy, "--format", "json", "--region", "us-east-1"], { encoding: "utf8" })) as GateJson;
      } catch (error) {
        expect((error as { status: number }).status).toBe(1); // the gate failed: the JSON is still all of stdout
        return JSON.parse((error as { stdout: string }).stdout) as GateJson;
      }
    };
    const direct = run();
    expect(direct.passed).toBe(false);
    expect(before.verdicts.map((v) => [v.rule, v.passed])).toEqual(direct.verdicts.map((v) => [v.rule, v.passed]));
    expect(direct.verdicts.find((v) => v.rule === "required_tags")?.details.resources).toEqual([{ address: "aws_instance.web", missing: ["team", "env"] }]);
    expect(before.verdicts.find((v) => v.rule === "allowed_instance_families")?.disallowed).toEqual([{ address: "aws_instance.web", instanceType: "m5.large", family: "m5" }]);
    let text = readFileSync(tf, "utf8");
    const view = fileView({ path: tf, text, result: before, unitAnchor: true, policyFile: "outlay-policy.yml", usageFile: "u.yml" });
    expect(view.diagnostics.map((d) => [d.code, d.fixes.map((f) => f.title)])).toEqual([
      ["required_tags", ["Add missing tags: team, env"]],
      ["allowed_instance_families", ["Switch to m7g.large"]],
    ]);
    for (const diagnostic of [...view.diagnostics].reverse()) {
      for (const edit of [...diagnostic.fixes[0]!.edits].sort((a, b) => b.offset - a.offset)) {
        text = text.slice(0, edit.offset) + edit.text + text.slice(edit.offset + edit.length);
      }
    }
    writeFileSync(tf, text);
    const after = await engine.estimate(unit, settings({ policyFile: policy }));
    expect(after.verdicts.map((v) => [v.rule, v.passed])).toEqual([
      ["priced", true],
      ["required_tags", true],
      ["allowed_instance_families", true],
    ]);
    expect(run().passed).toBe(true);
    const lens = fileView({ path: tf, text, result: after, unitAnchor: true, policyFile: "p", usageFile: "u" }).lenses[0]!;
    expect(lens.title).toBe(`${cli(dir).printed.get("aws_instance.web")}/mo`);
  });

  it("a file the estimator cannot parse is one diagnostic with its message", async () => {
    const file = join(scratch, "broken.yaml");
    writeFileSync(file, "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Web: [\n");
    const result = await new Engine(spawnRunner, null, null).estimate(unitOf(file, "cloudformation"), settings());
    const view = fileView({ path: file, text: readFileSync(file, "utf8"), result, unitAnchor: true, policyFile: "p", usageFile: "u" });
    expect(view.diagnostics).toHaveLength(1);
    expect(view.diagnostics[0]!.message).toMatch(/^outlay estimate could not read this: not YAML/);
    const dir = join(scratch, "broken-tf");
    mkdirSync(dir);
    writeFileSync(join(dir, "main.tf"), 'resource "aws_instance" "x" {\n  instance_type = \n');
    const tf = await new Engine(spawnRunner, null, null).estimate(unitOf(join(dir, "main.tf"), "terraform"), settings());
    const tfView = fileView({ path: join(dir, "main.tf"), text: readFileSync(join(dir, "main.tf"), "utf8"), result: tf, unitAnchor: true, policyFile: "p", usageFile: "u" });
    expect(tfView.diagnostics.map((d) => d.message)).toEqual([expect.stringContaining("cannot parse HCL")]);
    expect(tfView.diagnostics[0]!.start).toBe(readFileSync(join(dir, "main.tf"), "utf8").indexOf("  instance_type"));
  });
});
