/**
 * Resource and module blocks of a Terraform (.tf) file, found with a small tokenizer that knows HCL's comments,
 * strings (with ${…} interpolation) and heredocs, so a brace inside any of them never moves a block's end.
 * It does not evaluate anything: the CLI does that; this only says where each block is written.
 */

import { indentOf, LineIndex, type SourceBlock, type TagInsertion } from "./blocks";

type TokenKind = "ident" | "string" | "{" | "}" | "=" | "newline" | "other";

interface Token {
  kind: TokenKind;
  start: number;
  end: number;
  /** An identifier's name, or a string's value when it has no interpolation. */
  value?: string;
}

function skipTemplate(text: string, i: number): number {
  // text[i] is the "{" after "$" or "%": skip to its matching "}" (strings inside may hold braces).
  let depth = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "{") {
      depth++;
    } else if (ch === "}") {
      depth--;
      if (depth === 0) {
        return i + 1;
      }
    } else if (ch === '"') {
      i = skipString(text, i).end;
      continue;
    }
    i++;
  }
  return i;
}

function skipString(text: string, start: number): { end: number; literal: boolean } {
  let i = start + 1;
  let literal = true;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "\\") {
      i += 2;
      continue;
    }
    if (ch === '"' || ch === "\n") {
      return { end: ch === '"' ? i + 1 : i, literal };
    }
    if ((ch === "$" || ch === "%") && text[i + 1] === "{") {
      literal = false;
      i = skipTemplate(text, i + 1);
      continue;
    }
    i++;
  }
  return { end: i, literal };
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === "\n") {
      tokens.push({ kind: "newline", start: i, end: i + 1 });
      i++;
    } else if (ch === " " || ch === "\t" || ch === "\r") {
      i++;
    } else if (ch === "#" || (ch === "/" && text[i + 1] === "/")) {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (ch === "/" && text[i + 1] === "*") {
      const close = text.indexOf("*/", i + 2);
      i = close === -1 ? text.length : close + 2;
    } else if (ch === '"') {
      const { end, literal } = skipString(text, i);
      const token: Token = { kind: "string", start: i, end };
      if (literal) {
        token.value = text.slice(i + 1, end - 1).replace(/\\(.)/g, "$1");
      }
      tokens.push(token);
      i = end;
    } else if (ch === "<" && text[i + 1] === "<" && /^<<-?[A-Za-z_]/.test(text.slice(i, i + 4))) {
      const marker = /^<<-?([A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i));
      const name = marker?.[1] ?? "";
      const bodyStart = text.indexOf("\n", i);
      let end = text.length;
      if (bodyStart !== -1) {
        const closing = new RegExp(`^[ \\t]*${name}[ \\t]*\\r?$`, "m");
        const rest = text.slice(bodyStart + 1);
        const found = closing.exec(rest);
        end = found ? bodyStart + 1 + found.index + found[0].length : text.length;
      }
      tokens.push({ kind: "string", start: i, end });
      i = end;
    } else if (/[A-Za-z_]/.test(ch)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_-]/.test(text[j] as string)) j++;
      tokens.push({ kind: "ident", start: i, end: j, value: text.slice(i, j) });
      i = j;
    } else if (ch === "{" || ch === "}") {
      tokens.push({ kind: ch, start: i, end: i + 1 });
      i++;
    } else if (ch === "=" && !"=>".includes(text[i + 1] ?? "") && !"=!<>".includes(text[i - 1] ?? "")) {
      tokens.push({ kind: "=", start: i, end: i + 1 });
      i++;
    } else {
      tokens.push({ kind: "other", start: i, end: i + 1 });
      i++;
    }
  }
  return tokens;
}

/** The index of the "}" closing the "{" at tokens[open], or the last token when the file ends first. */
function closing(tokens: Token[], open: number): number {
  let depth = 0;
  for (let k = open; k < tokens.length; k++) {
    const kind = tokens[k]?.kind;
    if (kind === "{") depth++;
    else if (kind === "}") {
      depth--;
      if (depth === 0) return k;
    }
  }
  return tokens.length - 1;
}

function tagInsertion(text: string, lines: LineIndex, tokens: Token[], open: number, close: number): TagInsertion | undefined {
  const blockOpen = tokens[open] as Token;
  const blockClose = tokens[close] as Token;
  const bodyIndent = (() => {
    const next = lines.position(blockOpen.end).line + 1;
    const line = lines.lineText(next);
    const headerIndent = indentOf(lines.lineText(lines.position(blockOpen.start).line));
    return line.trim() && next <= lines.position(blockClose.start).line ? indentOf(line) : `${headerIndent}  `;
  })();
  // Attributes at the block's own depth: `tags = {` is the literal map we can add keys to.
  let depth = 0;
  for (let k = open + 1; k < close; k++) {
    const token = tokens[k] as Token;
    if (token.kind === "{") depth++;
    else if (token.kind === "}") depth--;
    else if (depth === 0 && token.kind === "ident" && token.value === "tags" && tokens[k + 1]?.kind === "=") {
      const value = tokens[k + 2];
      if (value?.kind !== "{") {
        return undefined; // tags from an expression (merge(...), a local): which map to change is not obvious
      }
      const first = tokens.slice(k + 3).find((t) => t.kind !== "newline");
      if (first?.kind === "ident" && first.value === "for") {
        return undefined; // a for expression builds the map
      }
      const mapClose = tokens[closing(tokens, k + 2)] as Token;
      const sameLine = lines.position(value.start).line === lines.position(mapClose.start).line;
      if (sameLine) {
        const empty = text.slice(value.end, mapClose.start).trim() === "";
        return {
          offset: value.end,
          text: (keys) => {
            const entries = keys.map((key) => `${key} = "TODO"`).join(", ");
            return empty ? ` ${entries} ` : ` ${entries},`;
          },
        };
      }
      const lineAfter = lines.position(value.end).line + 1;
      const entryIndent = (() => {
        const line = lines.lineText(lineAfter);
        return line.trim() && !line.trim().startsWith("}") ? indentOf(line) : `${indentOf(lines.lineText(lines.position(token.start).line))}  `;
      })();
      const insertAt = lines.offset({ line: lineAfter, character: 0 });
      return { offset: insertAt, text: (keys) => keys.map((key) => `${entryIndent}${key} = "TODO"\n`).join("") };
    }
  }
  // No tags attribute: add one before the block's closing brace.
  const closeLine = lines.position(blockClose.start);
  const beforeClose = lines.lineText(closeLine.line).slice(0, closeLine.character);
  if (beforeClose.trim() !== "") {
    return undefined; // a one-line block: adding an attribute is not a one-line edit
  }
  return {
    offset: lines.offset({ line: closeLine.line, character: 0 }),
    text: (keys) =>
      `${bodyIndent}tags = {\n${keys.map((key) => `${bodyIndent}  ${key} = "TODO"\n`).join("")}${bodyIndent}}\n`,
  };
}

/** Every top-level `resource` and `module` block of a .tf file, in order. */
export function terraformBlocks(text: string): SourceBlock[] {
  const tokens = tokenize(text);
  const lines = new LineIndex(text);
  const blocks: SourceBlock[] = [];
  let depth = 0;
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k] as Token;
    if (token.kind === "{") {
      depth++;
      continue;
    }
    if (token.kind === "}") {
      depth = Math.max(0, depth - 1);
      continue;
    }
    if (depth !== 0 || token.kind !== "ident") continue;
    const a = tokens[k + 1];
    const b = tokens[k + 2];
    if (token.value === "resource" && a?.kind === "string" && b?.kind === "string" && tokens[k + 3]?.kind === "{") {
      if (a.value === undefined || b.value === undefined) continue;
      const close = closing(tokens, k + 3);
      const end = (tokens[close] as Token).end;
      const block: SourceBlock = {
        format: "terraform",
        kind: "resource",
        key: `${a.value}.${b.value}`,
        type: a.value,
        start: token.start,
        end,
        headerStart: token.start,
        headerEnd: b.end,
      };
      const insertion = tagInsertion(text, lines, tokens, k + 3, close);
      if (insertion) block.tagInsertion = insertion;
      blocks.push(block);
      k = close;
    } else if (token.value === "module" && a?.kind === "string" && b?.kind === "{") {
      if (a.value === undefined) continue;
      const close = closing(tokens, k + 2);
      const block: SourceBlock = {
        format: "terraform",
        kind: "module",
        key: `module.${a.value}`,
        type: "module",
        start: token.start,
        end: (tokens[close] as Token).end,
        headerStart: token.start,
        headerEnd: a.end,
      };
      let inner = 0;
      for (let j = k + 3; j < close; j++) {
        const t = tokens[j] as Token;
        if (t.kind === "{") inner++;
        else if (t.kind === "}") inner--;
        else if (inner === 0 && t.kind === "ident" && t.value === "source" && tokens[j + 1]?.kind === "=") {
          const value = tokens[j + 2];
          if (value?.kind === "string" && value.value !== undefined) block.moduleSource = value.value;
        }
      }
      blocks.push(block);
      k = close;
    }
  }
  return blocks;
}
