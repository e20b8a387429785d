/**
 * The gate's verdicts (`outlay gate --format json`, outlay/iac/gate.py; schema in docs/iac.md, "JSON") turned into
 * findings on resources, and the obvious fixes. Findings come from each verdict's structured `details` (the
 * resources lacking tags and the keys they lack; the disallowed instance types, their family and the allowed
 * families), never from the wording of its message, which is only shown.
 */

import { array, type Json, object, SchemaError, string } from "./estimate";

export const GATE_SCHEMA_VERSION = "1";

export interface MissingTags {
  address: string;
  missing: string[];
}

export interface DisallowedType {
  address: string;
  instanceType: string;
  family: string;
}

export interface Verdict {
  rule: string;
  passed: boolean;
  message: string;
  /** required_tags: the resources that lack required keys. */
  missingTags?: MissingTags[];
  /** allowed_instance_families: the types outside the allowed families, and those families. */
  disallowed?: DisallowedType[];
  allowedFamilies?: string[];
}

export interface GateReport {
  passed: boolean;
  verdicts: Verdict[];
}

function strings(value: unknown, where: string): string[] {
  return array(value, where).map((v, i) => string(v, `${where}[${i}]`));
}

function verdict(value: unknown, where: string): Verdict {
  const raw = object(value, where);
  if (typeof raw.passed !== "boolean") throw new SchemaError(`${where}.passed: expected true or false`);
  const out: Verdict = { rule: string(raw.rule, `${where}.rule`), passed: raw.passed, message: string(raw.message, `${where}.message`) };
  const details: Json = raw.details === undefined || raw.details === null ? {} : object(raw.details, `${where}.details`);
  if (out.rule === "required_tags") {
    out.missingTags = array(details.resources ?? [], `${where}.details.resources`).map((r, i) => {
      const item = object(r, `${where}.details.resources[${i}]`);
      return { address: string(item.address, `${where}.details.resources[${i}].address`), missing: strings(item.missing, `${where}.details.resources[${i}].missing`) };
    });
  } else if (out.rule === "allowed_instance_families") {
    out.allowedFamilies = strings(details.allowed_families ?? [], `${where}.details.allowed_families`);
    out.disallowed = array(details.resources ?? [], `${where}.details.resources`).map((r, i) => {
      const item = object(r, `${where}.details.resources[${i}]`);
      const at = `${where}.details.resources[${i}]`;
      return { address: string(item.address, `${at}.address`), instanceType: string(item.instance_type, `${at}.instance_type`), family: string(item.family, `${at}.family`) };
    });
  }
  return out;
}

/** The gate's report in `text` (the CLI's stdout with `--format json`); a SchemaError names what is wrong. */
export function parseGateJson(text: string): GateReport {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new SchemaError("`outlay gate --format json` did not print JSON");
  }
  const raw = object(document, "gate");
  if (raw.schema_version !== GATE_SCHEMA_VERSION) {
    throw new SchemaError(
      `gate JSON schema_version ${JSON.stringify(raw.schema_version)}; this extension reads version ${GATE_SCHEMA_VERSION}`,
    );
  }
  if (typeof raw.passed !== "boolean") throw new SchemaError("gate.passed: expected true or false");
  return { passed: raw.passed, verdicts: array(raw.verdicts, "verdicts").map((v, i) => verdict(v, `verdicts[${i}]`)) };
}

export type Fix = { kind: "tags"; keys: string[] } | { kind: "instanceType"; from: string; to: string };

export interface Finding {
  rule: string;
  /** The resource it is about; undefined for a rule about the whole change (increase, budget). */
  address?: string;
  message: string;
  fix?: Fix;
}

const INSTANCE = /^(db\.|cache\.)?([a-z]+)(\d+)([a-z-]*)\.([a-z0-9]+)$/;

/** A family's class letters and generation: m7g → {cls: "m", gen: 7}; null when it is not a family name. */
function familyParts(family: string): { cls: string; gen: number } | null {
  const match = /^([a-z]+)(\d+)([a-z-]*)$/.exec(family);
  return match ? { cls: match[1] as string, gen: Number(match[2]) } : null;
}

/**
 * The allowed type closest to `type`: the same size in an allowed family of the same class (m5.large → m7g.large
 * when m7g is allowed), newest generation first. undefined when no allowed family is of the same class: then no
 * switch is obvious. The size is kept as it is; the next estimate says so if the new family lacks it.
 */
export function suggestInstanceType(type: string, allowed: string[]): string | undefined {
  const match = INSTANCE.exec(type);
  if (match === null) return undefined;
  const [, prefix = "", cls, , , size] = match;
  const candidates = allowed
    .map((family) => ({ family, parts: familyParts(family) }))
    .filter((c) => c.parts !== null && c.parts.cls === cls)
    .sort((a, b) => (b.parts?.gen ?? 0) - (a.parts?.gen ?? 0));
  const best = candidates[0];
  return best === undefined ? undefined : `${prefix}${best.family}.${size}`;
}

export function findingsOf(verdicts: Verdict[]): Finding[] {
  const findings: Finding[] = [];
  for (const verdict of verdicts) {
    if (verdict.passed) continue;
    if (verdict.rule === "required_tags" && verdict.missingTags !== undefined) {
      for (const { address, missing } of verdict.missingTags) {
        findings.push({ rule: verdict.rule, address, message: `missing required tag(s): ${missing.join(", ")}`, fix: { kind: "tags", keys: missing } });
      }
    } else if (verdict.rule === "allowed_instance_families" && verdict.disallowed !== undefined) {
      const allowed = verdict.allowedFamilies ?? [];
      for (const { address, instanceType, family } of verdict.disallowed) {
        const suggestion = suggestInstanceType(instanceType, allowed);
        const finding: Finding = {
          rule: verdict.rule,
          address,
          message: `instance type ${instanceType} (family ${family}) is not of an allowed family (${allowed.join(", ")})${suggestion ? `: try ${suggestion}` : ""}`,
        };
        if (suggestion) finding.fix = { kind: "instanceType", from: instanceType, to: suggestion };
        findings.push(finding);
      }
    } else {
      findings.push({ rule: verdict.rule, message: verdict.message });
    }
  }
  return findings;
}
