/** Which files the extension prices, and the blocks of each. */

import type { SourceBlock } from "./blocks";
import { jsonBlocks, looksLikeCloudFormation, yamlBlocks } from "./cloudformation";
import { terraformBlocks } from "./terraform";

export type FileKind = "terraform" | "cloudformation" | null;

/** What a file is by its name and, for YAML/JSON, its content (only CloudFormation templates are priced). */
export function fileKind(path: string, text?: string): FileKind {
  const lower = path.toLowerCase();
  if (lower.endsWith(".tf")) return "terraform";
  if (/\.(ya?ml|json|template)$/.test(lower)) {
    return text !== undefined && looksLikeCloudFormation(text) ? "cloudformation" : null;
  }
  return null;
}

export function blocksOf(path: string, text: string): SourceBlock[] {
  const lower = path.toLowerCase();
  if (lower.endsWith(".tf")) return terraformBlocks(text);
  if (lower.endsWith(".json") || (lower.endsWith(".template") && text.trimStart().startsWith("{"))) return jsonBlocks(text);
  return yamlBlocks(text);
}

/**
 * The block an estimate address belongs to: `aws_instance.web[2]` → `aws_instance.web`, `module.net[0].aws_x.y`
 * → `module.net`; a CloudFormation address is its logical id.
 */
export function blockKeyOf(address: string): string {
  if (address.startsWith("module.")) {
    const match = /^module\.([^.[]+)/.exec(address);
    return match ? `module.${match[1]}` : address;
  }
  const bracket = address.indexOf("[");
  return bracket === -1 ? address : address.slice(0, bracket);
}
