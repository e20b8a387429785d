/**
 * The gate's verdicts (`outlay gate`, outlay/iac/gate.py) turned into findings on resources, and the obvious fixes.
 *
 * `outlay gate` has no JSON output: it prints the diff table, then one line per rule, `pass RULE: message` or
 * `FAIL RULE: message` (Verdict.__str__). We read those lines; the messages of the two per-resource rules have a
 * fixed shape ("ADDRESS lacks k1, k2; …" and "ADDRESS uses TYPE; … (allowed: f1, f2)").
 */

export interface Verdict {
  rule: string;
  passed: boolean;
  message: string;
}

export function parseGateOutput(stdout: string): Verdict[] {
  const verdicts: Verdict[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const match = /^(pass|FAIL) ([a-z_]+): (.*)$/.exec(line.trimEnd());
    if (match) verdicts.push({ passed: match[1] === "pass", rule: match[2] as string, message: match[3] as string });
  }
  return verdicts;
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
    if (verdict.rule === "required_tags") {
      for (const part of verdict.message.split("; ")) {
        const match = /^(.+) lacks (.+)$/.exec(part);
        if (match === null) continue;
        const keys = (match[2] as string).split(", ").filter(Boolean);
        findings.push({
          rule: verdict.rule,
          address: match[1],
          message: `missing required tag(s): ${keys.join(", ")}`,
          fix: { kind: "tags", keys },
        });
      }
    } else if (verdict.rule === "allowed_instance_families") {
      const allowedMatch = / \(allowed: ([^)]*)\)$/.exec(verdict.message);
      const allowed = allowedMatch ? (allowedMatch[1] as string).split(", ") : [];
      const body = allowedMatch ? verdict.message.slice(0, allowedMatch.index) : verdict.message;
      for (const part of body.split("; ")) {
        const match = /^(.+) uses (\S+)$/.exec(part);
        if (match === null) continue;
        const type = match[2] as string;
        const suggestion = suggestInstanceType(type, allowed);
        const finding: Finding = {
          rule: verdict.rule,
          address: match[1],
          message: `instance type ${type} is not of an allowed family (${allowed.join(", ")})${suggestion ? `: try ${suggestion}` : ""}`,
        };
        if (suggestion) finding.fix = { kind: "instanceType", from: type, to: suggestion };
        findings.push(finding);
      }
    } else {
      findings.push({ rule: verdict.rule, message: verdict.message });
    }
  }
  return findings;
}
