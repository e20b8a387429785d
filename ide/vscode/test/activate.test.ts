// The extension activated in the fake editor: what it registers, and what it shows with and without the CLI.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type * as vscode from "vscode";
import { activate, deactivate } from "../src/extension";
import { fake, fakeContext, resetFake } from "./fakeVscode";

const CLI = process.env.OUTLAY_CLI ?? resolve(__dirname, "..", "..", "..", ".venv", "bin", "outlay");

describe("activation", () => {
  let dir: string;
  beforeEach(() => {
    resetFake();
    dir = mkdtempSync(join(tmpdir(), "outlay-activate-"));
    fake.folders = [dir];
  });
  afterEach(() => {
    deactivate();
    rmSync(dir, { recursive: true, force: true });
  });

  it("registers every command package.json contributes", async () => {
    fake.settings.cliPath = join(dir, "no-such-outlay");
    const api = activate(fakeContext() as unknown as vscode.ExtensionContext);
    await api.ready;
    const manifest = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as {
      contributes: { commands: { command: string }[] };
    };
    for (const { command } of manifest.contributes.commands) expect(fake.commands.has(command), command).toBe(true);
  });

  it("says clearly that the CLI is missing, and how to install it", async () => {
    fake.settings.cliPath = join(dir, "no-such-outlay");
    await activate(fakeContext() as unknown as vscode.ExtensionContext).ready;
    expect(fake.errors[0]).toContain("The outlay CLI was not found");
    expect(fake.errors[0]).toContain("make setup");
    expect(fake.statusItems[0]!.text).toBe("$(warning) Outlay: CLI not found");
  });

  it.skipIf(!existsSync(CLI))("estimates the workspace: status bar total and policy diagnostics", async () => {
    mkdirSync(join(dir, "infra"));
    const tf = join(dir, "infra", "main.tf");
    writeFileSync(tf, 'provider "aws" {\n  region = "us-east-1"\n}\n\nresource "aws_nat_gateway" "nat" {\n  subnet_id = "subnet-1"\n}\n');
    writeFileSync(join(dir, "outlay-policy.yml"), "version: 1\nrequired_tags: [team]\n");
    fake.files = [tf];
    fake.settings.cliPath = CLI;
    await activate(fakeContext() as unknown as vscode.ExtensionContext).ready;
    expect(fake.errors).toEqual([]);
    expect(fake.statusItems[0]!.text).toBe("$(credit-card) $32.85/mo");
    const diagnostics = fake.diagnostics.get(tf) ?? [];
    expect(diagnostics.map((d) => [d.code, d.range.start.line])).toEqual([["required_tags", 4]]);
  });
});
