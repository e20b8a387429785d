/**
 * "Set usage values": the usage file with an entry for a resource's address under `resource_usage`, its keys
 * (those its type reads, from docs/iac-usage.md) written as comments to fill in. An existing entry is kept as it
 * is: only where it is gets returned.
 */

import { USAGE_KEYS } from "./usageKeys.generated";

export interface UsageEdit {
  /** The whole new text of the usage file (the same text when nothing was added). */
  text: string;
  /** Where the resource's entry is, to put the cursor on. */
  offset: number;
  added: boolean;
}

function yamlKey(address: string): string {
  return /^[A-Za-z0-9_.[\]*-]+$/.test(address) ? address : JSON.stringify(address);
}

export function keyLines(type: string, indent: string): string[] {
  const keys = USAGE_KEYS[type] ?? [];
  if (keys.length === 0) return [`${indent}# ${type} reads no usage keys (see docs/iac-usage.md)`];
  const lines: string[] = [];
  let group: string | null = null;
  for (const [key, meaning] of keys) {
    const dot = key.indexOf(".");
    if (dot === -1) {
      group = null;
      lines.push(`${indent}# ${key}:    # ${meaning}`);
      continue;
    }
    const parent = key.slice(0, dot);
    if (parent !== group) {
      lines.push(`${indent}# ${parent}:`);
      group = parent;
    }
    lines.push(`${indent}#   ${key.slice(dot + 1)}:    # ${meaning}`);
  }
  return lines;
}

export function usageEntry(existing: string | null, address: string, type: string): UsageEdit {
  const key = yamlKey(address);
  const entry = [`  ${key}:`, ...keyLines(type, "    ")].join("\n") + "\n";
  if (existing === null || existing.trim() === "") {
    const text = `version: 0.1\nresource_usage:\n${entry}`;
    return { text, offset: text.indexOf(`  ${key}:`) + 2, added: true };
  }
  const lines = existing.split("\n");
  const section = lines.findIndex((l) => /^resource_usage\s*:\s*(#.*)?$/.test(l));
  if (section !== -1) {
    let offset = lines.slice(0, section + 1).join("\n").length + 1;
    for (let i = section + 1; i < lines.length; i++) {
      const line = lines[i] as string;
      if (/^\S/.test(line)) break; // the next top-level key
      const match = /^\s+(["']?)(.+?)\1\s*:/.exec(line);
      if (match && match[2] === address && /^\s{1,4}\S/.test(line)) {
        return { text: existing, offset: offset + line.indexOf(match[2]), added: false };
      }
      offset += line.length + 1;
    }
    const before = lines.slice(0, section + 1).join("\n") + "\n";
    const after = lines.slice(section + 1).join("\n");
    return { text: before + entry + after, offset: before.length + 2, added: true };
  }
  const base = existing.endsWith("\n") ? existing : `${existing}\n`;
  return { text: `${base}resource_usage:\n${entry}`, offset: base.length + "resource_usage:\n".length + 2, added: true };
}
