/**
 * Resources of a CloudFormation template, YAML (block style, with or without short tags) or JSON: each logical id
 * under `Resources`, where its block starts and ends, and how to add tags to its `Properties`.
 */

import { indentOf, LineIndex, type SourceBlock, type TagInsertion } from "./blocks";

/** Whether a .yaml/.yml/.json/.template file is a CloudFormation template (and not a plan, a usage file, …). */
export function looksLikeCloudFormation(text: string): boolean {
  if (/"planned_values"\s*:|"format_version"\s*:/.test(text)) return false; // a Terraform plan
  return /AWSTemplateFormatVersion/.test(text) || /["']?Type["']?\s*:\s*["']?AWS::[A-Za-z0-9]+::/.test(text);
}

interface YamlLine {
  index: number;
  indent: number;
  text: string;
}

function meaningful(lines: LineIndex, total: number): YamlLine[] {
  const out: YamlLine[] = [];
  for (let index = 0; index < total; index++) {
    const text = lines.lineText(index);
    const trimmed = text.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    out.push({ index, indent: indentOf(text).length, text });
  }
  return out;
}

function yamlTagInsertion(lines: LineIndex, body: YamlLine[], resourceIndent: number): TagInsertion | undefined {
  const properties = body.find((l) => /^\s*Properties\s*:\s*(#.*)?$/.test(l.text));
  if (properties === undefined) return undefined;
  const after = body.filter((l) => l.index > properties.index);
  const endAt = after.findIndex((l) => l.indent <= properties.indent);
  const props = endAt === -1 ? after : after.slice(0, endAt);
  const propIndent = props[0]?.indent;
  if (propIndent === undefined) return undefined;
  const pad = " ".repeat(propIndent);
  const tags = props.find((l) => l.indent === propIndent && /^\s*Tags\s*:/.test(l.text));
  if (tags !== undefined) {
    if (!/^\s*Tags\s*:\s*(#.*)?$/.test(tags.text)) return undefined; // flow style or a reference: not obvious
    const first = props.find((l) => l.index > tags.index);
    const itemIndent = first && first.indent >= tags.indent && first.text.trim().startsWith("-") ? first.indent : tags.indent + 2;
    const item = " ".repeat(itemIndent);
    return {
      offset: lines.offset({ line: tags.index + 1, character: 0 }),
      text: (keys) => keys.map((key) => `${item}- Key: ${key}\n${item}  Value: TODO\n`).join(""),
    };
  }
  void resourceIndent;
  const last = props[props.length - 1] as YamlLine;
  return {
    offset: lines.offset({ line: last.index + 1, character: 0 }),
    text: (keys) => `${pad}Tags:\n${keys.map((key) => `${pad}  - Key: ${key}\n${pad}    Value: TODO\n`).join("")}`,
  };
}

export function yamlBlocks(text: string): SourceBlock[] {
  const lines = new LineIndex(text);
  const total = text.split("\n").length;
  const all = meaningful(lines, total);
  const header = all.findIndex((l) => l.indent === 0 && /^Resources\s*:\s*(#.*)?$/.test(l.text));
  if (header === -1) return [];
  const rest = all.slice(header + 1);
  const sectionEnd = rest.findIndex((l) => l.indent === 0);
  const section = sectionEnd === -1 ? rest : rest.slice(0, sectionEnd);
  const childIndent = section[0]?.indent;
  if (childIndent === undefined) return [];
  const blocks: SourceBlock[] = [];
  section.forEach((line, position) => {
    if (line.indent !== childIndent) return;
    const match = /^(\s*)(["']?)([A-Za-z0-9]+)\2\s*:/.exec(line.text);
    if (match === null) return;
    const nextAt = section.findIndex((l, i) => i > position && l.indent <= childIndent);
    const body = section.slice(position + 1, nextAt === -1 ? undefined : nextAt);
    const lastLine = body.length ? (body[body.length - 1] as YamlLine).index : line.index;
    const typeLine = body.find((l) => /^\s*Type\s*:/.test(l.text));
    const type = typeLine ? (/Type\s*:\s*["']?([A-Za-z0-9:]+)/.exec(typeLine.text)?.[1] ?? "") : "";
    const start = lines.offset({ line: line.index, character: 0 });
    const headerStart = start + (match[1] ?? "").length;
    const block: SourceBlock = {
      format: "cfn-yaml",
      kind: "resource",
      key: match[3] as string,
      type,
      start,
      end: lines.offset({ line: lastLine, character: lines.lineText(lastLine).length }),
      headerStart,
      headerEnd: headerStart + (match[0].length - (match[1] ?? "").length - 1),
    };
    const insertion = yamlTagInsertion(lines, body, childIndent);
    if (insertion) block.tagInsertion = insertion;
    blocks.push(block);
  });
  return blocks;
}

// ---- JSON: a small parser that keeps every value's offsets.

interface JsonNode {
  kind: "object" | "array" | "string" | "other";
  start: number;
  end: number;
  members?: { key: string; keyStart: number; keyEnd: number; value: JsonNode }[];
  items?: JsonNode[];
  value?: string;
}

class JsonParser {
  private i = 0;

  constructor(private readonly text: string) {}

  private space(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i] as string)) this.i++;
  }

  private fail(what: string): never {
    throw new Error(`${what} at offset ${this.i}`);
  }

  parse(): JsonNode {
    const node = this.value();
    this.space();
    if (this.i !== this.text.length) this.fail("unexpected text");
    return node;
  }

  private string(): { value: string; start: number; end: number } {
    const start = this.i;
    this.i++;
    let out = "";
    while (this.i < this.text.length) {
      const ch = this.text[this.i] as string;
      if (ch === '"') {
        this.i++;
        return { value: out, start, end: this.i };
      }
      if (ch === "\\") {
        const escaped = this.text[this.i + 1] ?? "";
        if (escaped === "u") {
          out += String.fromCharCode(parseInt(this.text.slice(this.i + 2, this.i + 6), 16));
          this.i += 6;
          continue;
        }
        out += ({ n: "\n", t: "\t", r: "\r", b: "\b", f: "\f" } as Record<string, string>)[escaped] ?? escaped;
        this.i += 2;
        continue;
      }
      out += ch;
      this.i++;
    }
    return this.fail("unterminated string");
  }

  private value(): JsonNode {
    this.space();
    const start = this.i;
    const ch = this.text[this.i];
    if (ch === "{") {
      this.i++;
      const members: NonNullable<JsonNode["members"]> = [];
      this.space();
      if (this.text[this.i] === "}") {
        this.i++;
        return { kind: "object", start, end: this.i, members };
      }
      for (;;) {
        this.space();
        if (this.text[this.i] !== '"') this.fail("expected a key");
        const key = this.string();
        this.space();
        if (this.text[this.i] !== ":") this.fail("expected ':'");
        this.i++;
        members.push({ key: key.value, keyStart: key.start, keyEnd: key.end, value: this.value() });
        this.space();
        if (this.text[this.i] === ",") {
          this.i++;
          continue;
        }
        if (this.text[this.i] === "}") {
          this.i++;
          return { kind: "object", start, end: this.i, members };
        }
        this.fail("expected ',' or '}'");
      }
    }
    if (ch === "[") {
      this.i++;
      const items: JsonNode[] = [];
      this.space();
      if (this.text[this.i] === "]") {
        this.i++;
        return { kind: "array", start, end: this.i, items };
      }
      for (;;) {
        items.push(this.value());
        this.space();
        if (this.text[this.i] === ",") {
          this.i++;
          continue;
        }
        if (this.text[this.i] === "]") {
          this.i++;
          return { kind: "array", start, end: this.i, items };
        }
        this.fail("expected ',' or ']'");
      }
    }
    if (ch === '"') {
      const s = this.string();
      return { kind: "string", start, end: s.end, value: s.value };
    }
    const literal = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(this.text.slice(this.i, this.i + 64));
    if (literal === null) this.fail("unexpected character");
    this.i += literal[0].length;
    return { kind: "other", start, end: this.i };
  }
}

function member(node: JsonNode | undefined, key: string): JsonNode | undefined {
  return node?.members?.find((m) => m.key === key)?.value;
}

function jsonTagInsertion(text: string, lines: LineIndex, resource: JsonNode): TagInsertion | undefined {
  const properties = member(resource, "Properties");
  if (properties?.kind !== "object") return undefined;
  const entry = (key: string): string => `{"Key": ${JSON.stringify(key)}, "Value": "TODO"}`;
  const tags = member(properties, "Tags");
  if (tags !== undefined) {
    if (tags.kind !== "array") return undefined;
    const empty = (tags.items ?? []).length === 0;
    return {
      offset: tags.start + 1,
      text: (keys) => keys.map(entry).join(", ") + (empty ? "" : ", "),
    };
  }
  const first = properties.members?.[0];
  const indent = first ? " ".repeat(lines.position(first.keyStart).character) : "";
  const empty = (properties.members ?? []).length === 0;
  void text;
  return {
    offset: properties.start + 1,
    text: (keys) => `\n${indent}"Tags": [${keys.map(entry).join(", ")}]${empty ? "\n" : ","}`,
  };
}

export function jsonBlocks(text: string): SourceBlock[] {
  let root: JsonNode;
  try {
    root = new JsonParser(text).parse();
  } catch {
    return []; // the estimator's own message says what is wrong with the file
  }
  const lines = new LineIndex(text);
  const resources = member(root, "Resources");
  return (resources?.members ?? []).map((m) => {
    const typeNode = member(m.value, "Type");
    const block: SourceBlock = {
      format: "cfn-json",
      kind: "resource",
      key: m.key,
      type: typeNode?.value ?? "",
      start: m.keyStart,
      end: m.value.end,
      headerStart: m.keyStart,
      headerEnd: m.keyEnd,
    };
    const insertion = jsonTagInsertion(text, lines, m.value);
    if (insertion) block.tagInsertion = insertion;
    return block;
  });
}
