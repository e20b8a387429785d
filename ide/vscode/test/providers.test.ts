// The thin vscode adapter against a fake of the `vscode` API: lenses, hovers, diagnostics and quick fixes.
import { describe, expect, it } from "vitest";
import * as vscode from "vscode";
import { CostHoverProvider, CostLensProvider, diagnosticsOf, PolicyFixProvider, type ViewSource } from "../src/adapter/providers";
import type { UnitResult } from "../src/core/engine";
import { findingsOf, parseGateJson } from "../src/core/gate";
import { fileView } from "../src/core/view";
import { EventEmitter, FakeDocument, type WorkspaceEdit } from "./fakeVscode";
import { disallowedTypes, estimate, gateJson, missingTags, priced } from "./helpers";

const PATH = "/repo/infra/main.tf";
const TF = `resource "aws_instance" "web" {
  instance_type = "m5.large"
}

resource "aws_s3_bucket" "logs" {
}
`;

function result(overrides: Partial<UnitResult> = {}): UnitResult {
  const verdicts = parseGateJson(gateJson([missingTags(["aws_instance.web", ["team"]]), disallowedTypes(["m7g"], ["aws_instance.web", "m5.large"])])).verdicts;
  return {
    unit: { id: "terraform:/repo/infra", kind: "terraform", path: "/repo/infra" },
    head: estimate([priced("aws_instance.web", "73.58"), { address: "aws_s3_bucket.logs", components: [{ name: "Storage", cost: null, usage: true, unit: "GB", price: "0.023" }] }]),
    base: estimate([priced("aws_instance.web", "36.79")]),
    fileErrors: new Map(),
    error: null,
    verdicts,
    findings: findingsOf(verdicts),
    gateError: null,
    ...overrides,
  };
}

function source(document: FakeDocument, unitResult: UnitResult): ViewSource {
  const emitter = new EventEmitter<void>();
  return {
    viewOf: (d) =>
      fileView({ path: d.uri.fsPath, text: d.getText(), result: unitResult, unitAnchor: true, policyFile: "outlay-policy.yml", usageFile: "outlay-usage.yml" }),
    onDidChange: emitter.event,
  };
  void document;
}

const asDoc = (d: FakeDocument): vscode.TextDocument => d as unknown as vscode.TextDocument;

describe("CostLensProvider", () => {
  it("places a lens on each priced resource's header line with the cost and the change", () => {
    const doc = new FakeDocument(PATH, TF);
    const lenses = new CostLensProvider(source(doc, result())).provideCodeLenses(asDoc(doc));
    expect(lenses.map((l) => [l.range.start.line, l.command?.title])).toEqual([
      [0, "$73.58/mo, +$36.79"],
      [4, "$0.00/mo + usage, ±$0.00 (new)"],
    ]);
    expect(lenses[0]!.command?.arguments).toEqual([doc.uri, "aws_instance.web"]);
  });

  it("follows the text as it is edited: the lens moves with its block before the next estimate", () => {
    const doc = new FakeDocument(PATH, `# a comment\n\n${TF}`);
    const lenses = new CostLensProvider(source(doc, result())).provideCodeLenses(asDoc(doc));
    expect(lenses.map((l) => l.range.start.line)).toEqual([2, 6]);
  });

  it("shows nothing before the first estimate", () => {
    const doc = new FakeDocument(PATH, TF);
    const none = { viewOf: () => null, onDidChange: new EventEmitter<void>().event };
    expect(new CostLensProvider(none).provideCodeLenses(asDoc(doc))).toEqual([]);
  });
});

describe("CostHoverProvider", () => {
  it("hovers inside a priced block with a trusted link to the usage command only", () => {
    const doc = new FakeDocument(PATH, TF);
    const provider = new CostHoverProvider(source(doc, result()));
    const hover = provider.provideHover(asDoc(doc), new vscode.Position(1, 5));
    const content = hover?.contents[0] as unknown as vscode.MarkdownString;
    expect(content.value).toContain("**aws_instance.web** — $73.58/mo (+$36.79 against the last commit: $36.79/mo)");
    expect(content.isTrusted).toEqual({ enabledCommands: ["outlay.editUsage"] });
    expect(provider.provideHover(asDoc(doc), new vscode.Position(3, 0))).toBeNull();
  });
});

describe("diagnostics and quick fixes", () => {
  it("publishes the policy findings with ranges, severity and source", () => {
    const doc = new FakeDocument(PATH, TF);
    const view = source(doc, result()).viewOf(asDoc(doc))!;
    const diagnostics = diagnosticsOf(asDoc(doc), view);
    expect(diagnostics.map((d) => [d.code, d.severity, d.range.start.line, d.range.start.character, d.source])).toEqual([
      ["required_tags", vscode.DiagnosticSeverity.Error, 0, 0, "outlay"],
      ["allowed_instance_families", vscode.DiagnosticSeverity.Error, 1, 19, "outlay"],
    ]);
  });

  it("offers the fixes whose diagnostic touches the range, and their edits produce the fixed file", () => {
    const doc = new FakeDocument(PATH, TF);
    const provider = new PolicyFixProvider(source(doc, result()));
    const onType = provider.provideCodeActions(asDoc(doc), new vscode.Range(1, 20, 1, 20));
    expect(onType.map((a) => a.title)).toEqual(["Switch to m7g.large"]);
    expect(doc.applied(onType[0]!.edit as unknown as WorkspaceEdit)).toContain('instance_type = "m7g.large"');
    const onHeader = provider.provideCodeActions(asDoc(doc), new vscode.Range(0, 3, 0, 3));
    expect(onHeader.map((a) => a.title)).toEqual(["Add missing tag: team"]);
    expect(doc.applied(onHeader[0]!.edit as unknown as WorkspaceEdit)).toBe(
      'resource "aws_instance" "web" {\n  instance_type = "m5.large"\n  tags = {\n    team = "TODO"\n  }\n}\n\nresource "aws_s3_bucket" "logs" {\n}\n',
    );
    expect(provider.provideCodeActions(asDoc(doc), new vscode.Range(5, 0, 5, 0))).toEqual([]);
  });

  it("shows a file the estimator could not read as one diagnostic with its message", () => {
    const doc = new FakeDocument(PATH, 'resource "aws_instance" "x" {\n  instance_type = \n');
    const broken = result({ head: estimate([]), fileErrors: new Map([[PATH, "cannot parse HCL: Unexpected token at line 2, column 19."]]), findings: [] });
    const diagnostics = diagnosticsOf(asDoc(doc), source(doc, broken).viewOf(asDoc(doc))!);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]!.message).toBe("outlay estimate could not read this: cannot parse HCL: Unexpected token at line 2, column 19.");
    expect(diagnostics[0]!.range.start.line).toBe(1);
  });
});
