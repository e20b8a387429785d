import { describe, expect, it } from "vitest";
import { fileDiagnostics, inputErrorDiagnostic } from "../src/core/diagnostics";
import { SchemaError } from "../src/core/estimate";
import { findingsOf, parseGateJson, suggestInstanceType } from "../src/core/gate";
import { terraformBlocks } from "../src/core/terraform";
import { yamlBlocks } from "../src/core/cloudformation";
import { disallowedTypes, gateJson, missingTags } from "./helpers";

// What `outlay gate --format json` prints (outlay/iac/gate.py gate_json; docs/iac.md, "JSON").
const GATE_STDOUT = gateJson([
  { rule: "max_monthly_increase", passed: false, message: "the change adds $601.25 a month (limit $500.00)", details: { monthly_delta: "601.25", limit: "500" } },
  { rule: "priced", passed: true, message: "every resource of the change is priced" },
  missingTags(["aws_instance.web", ["team", "env"]], ["aws_db_instance.db[0]", ["env"]]),
  disallowedTypes(["t3", "t4g", "m7g", "m6i", "r7g"], ["aws_instance.web", "m5.large"], ["aws_db_instance.db[0]", "db.r5.xlarge"], ["aws_instance.gpu", "p3.2xlarge"]),
]);

describe("gate verdicts", () => {
  it("reads every verdict of the JSON, with the structured details of the per-resource rules", () => {
    const report = parseGateJson(GATE_STDOUT);
    expect(report.passed).toBe(false);
    expect(report.verdicts.map((v) => [v.rule, v.passed])).toEqual([
      ["max_monthly_increase", false],
      ["priced", true],
      ["required_tags", false],
      ["allowed_instance_families", false],
    ]);
    expect(report.verdicts[2]!.missingTags).toEqual([
      { address: "aws_instance.web", missing: ["team", "env"] },
      { address: "aws_db_instance.db[0]", missing: ["env"] },
    ]);
    expect(report.verdicts[3]!.allowedFamilies).toEqual(["t3", "t4g", "m7g", "m6i", "r7g"]);
    expect(report.verdicts[3]!.disallowed?.[1]).toEqual({ address: "aws_db_instance.db[0]", instanceType: "db.r5.xlarge", family: "r5" });
  });

  it("refuses another schema version, text output and malformed details, naming what is wrong", () => {
    expect(() => parseGateJson(GATE_STDOUT.replace('"schema_version":"1"', '"schema_version":"2"'))).toThrow(/schema_version "2"/);
    expect(() => parseGateJson("FAIL required_tags: aws_instance.web lacks team\n")).toThrow(SchemaError);
    const bad = JSON.parse(GATE_STDOUT) as { verdicts: { details: { resources: unknown[] } }[] };
    bad.verdicts[2]!.details.resources = [{ address: "aws_instance.web", missing: "team" }];
    expect(() => parseGateJson(JSON.stringify(bad))).toThrow("verdicts[2].details.resources[0].missing: expected a list");
  });

  it("turns failed verdicts into findings per resource, with fixes where one is obvious", () => {
    const findings = findingsOf(parseGateJson(GATE_STDOUT).verdicts);
    expect(findings.map((f) => [f.rule, f.address ?? null, f.fix ?? null])).toEqual([
      ["max_monthly_increase", null, null],
      ["required_tags", "aws_instance.web", { kind: "tags", keys: ["team", "env"] }],
      ["required_tags", "aws_db_instance.db[0]", { kind: "tags", keys: ["env"] }],
      ["allowed_instance_families", "aws_instance.web", { kind: "instanceType", from: "m5.large", to: "m7g.large" }],
      ["allowed_instance_families", "aws_db_instance.db[0]", { kind: "instanceType", from: "db.r5.xlarge", to: "db.r7g.xlarge" }],
      ["allowed_instance_families", "aws_instance.gpu", null],
    ]);
    expect(findings[5]!.message).toBe("instance type p3.2xlarge (family p3) is not of an allowed family (t3, t4g, m7g, m6i, r7g)");
  });

  it("takes findings from the details, not from the message's wording", () => {
    const reworded = gateJson([
      { ...missingTags(["aws_instance.web", ["team"]]), message: "1 resource is missing tags" },
      { ...disallowedTypes(["m7g"], ["aws_instance.web", "m5.large"]), message: "families: see details" },
    ]);
    expect(findingsOf(parseGateJson(reworded).verdicts).map((f) => [f.address, f.fix])).toEqual([
      ["aws_instance.web", { kind: "tags", keys: ["team"] }],
      ["aws_instance.web", { kind: "instanceType", from: "m5.large", to: "m7g.large" }],
    ]);
  });

  it("suggests the newest allowed family of the same class, keeping the size", () => {
    expect(suggestInstanceType("m5.large", ["m6i", "m7g", "t3"])).toBe("m7g.large");
    expect(suggestInstanceType("t2.micro", ["t3", "t4g"])).toBe("t4g.micro");
    expect(suggestInstanceType("cache.r5.large", ["r7g"])).toBe("cache.r7g.large");
    expect(suggestInstanceType("c5.xlarge", ["m7g"])).toBeUndefined();
    expect(suggestInstanceType("not-a-type", ["m7g"])).toBeUndefined();
  });
});

const TF = `resource "aws_instance" "web" {
  instance_type = "m5.large"
  tags = {
    Name = "web"
  }
}

resource "aws_db_instance" "db" {
  count          = 2
  instance_class = "db.r5.xlarge"
}
`;

function apply(text: string, edits: { offset: number; length: number; text: string }[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.offset - a.offset)) out = out.slice(0, e.offset) + e.text + out.slice(e.offset + e.length);
  return out;
}

describe("file diagnostics", () => {
  const findings = findingsOf(parseGateJson(GATE_STDOUT).verdicts);

  it("puts each finding on its resource, the whole-change ones on the unit's anchor file only", () => {
    const blocks = terraformBlocks(TF);
    const anchored = fileDiagnostics({ text: TF, blocks, findings, problems: [], policyFile: "outlay-policy.yml", unitLevel: true });
    expect(anchored.map((d) => [d.code, TF.slice(d.start, d.end)])).toEqual([
      ["max_monthly_increase", 'resource "aws_instance" "web"'],
      ["required_tags", 'resource "aws_instance" "web"'],
      ["required_tags", 'resource "aws_db_instance" "db"'],
      ["allowed_instance_families", "m5.large"],
      ["allowed_instance_families", "db.r5.xlarge"],
    ]);
    expect(anchored[0]!.message).toBe("Cost gate max_monthly_increase: the change adds $601.25 a month (limit $500.00) (outlay-policy.yml)");
    const other = fileDiagnostics({ text: TF, blocks, findings, problems: [], policyFile: "p.yml", unitLevel: false });
    expect(other.map((d) => d.code)).not.toContain("max_monthly_increase");
  });

  it("offers quick fixes that add the missing tags and switch the instance type", () => {
    const diagnostics = fileDiagnostics({ text: TF, blocks: terraformBlocks(TF), findings, problems: [], policyFile: "p.yml", unitLevel: false });
    const tagFix = diagnostics.find((d) => d.code === "required_tags")!.fixes[0]!;
    expect(tagFix.title).toBe("Add missing tags: team, env");
    expect(apply(TF, tagFix.edits)).toContain('  tags = {\n    team = "TODO"\n    env = "TODO"\n    Name = "web"\n  }');
    const dbTagFix = diagnostics.filter((d) => d.code === "required_tags")[1]!.fixes[0]!;
    expect(apply(TF, dbTagFix.edits)).toContain('instance_class = "db.r5.xlarge"\n  tags = {\n    env = "TODO"\n  }\n}');
    const typeFix = diagnostics.find((d) => d.code === "allowed_instance_families")!.fixes[0]!;
    expect(typeFix.title).toBe("Switch to m7g.large");
    expect(apply(TF, typeFix.edits)).toContain('instance_type = "m7g.large"');
  });

  it("reports unpriced costs as warnings, as errors when the gate's priced rule fails", () => {
    const problems = [{ address: "aws_instance.web", message: "no dedicated-tenancy price for m5.large yet" }];
    const warn = fileDiagnostics({ text: TF, blocks: terraformBlocks(TF), findings: [], problems, policyFile: "p.yml", unitLevel: false });
    expect(warn.map((d) => [d.severity, d.code])).toEqual([["warning", "unpriced"]]);
    const failing = findingsOf(parseGateJson(gateJson([{ rule: "priced", passed: false, message: "1 cost(s) not in the totals (allow_unpriced accepts them): aws_instance.web: x" }])).verdicts);
    const error = fileDiagnostics({ text: TF, blocks: terraformBlocks(TF), findings: failing, problems, policyFile: "p.yml", unitLevel: false });
    expect(error.map((d) => [d.severity, d.code])).toEqual([["error", "unpriced"]]);
  });

  it("works on CloudFormation YAML too", () => {
    const yaml = "Resources:\n  Web:\n    Type: AWS::EC2::Instance\n    Properties:\n      InstanceType: m5.large\n";
    const found = findingsOf(parseGateJson(gateJson([missingTags(["Web", ["team"]]), disallowedTypes(["m7g"], ["Web", "m5.large"])])).verdicts);
    const diagnostics = fileDiagnostics({ text: yaml, blocks: yamlBlocks(yaml), findings: found, problems: [], policyFile: "p.yml", unitLevel: false });
    const fixed = apply(apply(yaml, diagnostics[0]!.fixes[0]!.edits), []);
    expect(fixed).toBe("Resources:\n  Web:\n    Type: AWS::EC2::Instance\n    Properties:\n      InstanceType: m5.large\n      Tags:\n        - Key: team\n          Value: TODO\n");
    expect(apply(yaml, diagnostics[1]!.fixes[0]!.edits)).toContain("InstanceType: m7g.large");
  });

  it("makes one diagnostic of an input the estimator refused, at the line it names", () => {
    const text = "Resources:\n  A: [\n";
    const d = inputErrorDiagnostic(text, "not YAML (while parsing a flow node, line 3, column 1)");
    expect(d.message).toBe("outlay estimate could not read this: not YAML (while parsing a flow node, line 3, column 1)");
    expect([d.start, d.end]).toEqual([text.length, text.length]);
    expect(inputErrorDiagnostic(text, "no line here").start).toBe(0);
  });
});
