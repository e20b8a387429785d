import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { usageEntry } from "../src/core/usage";
import { USAGE_KEYS } from "../src/core/usageKeys.generated";

describe("usageEntry", () => {
  it("creates the usage file with the resource's keys as comments", () => {
    const edit = usageEntry(null, "aws_lambda_function.hello", "aws_lambda_function");
    expect(edit.added).toBe(true);
    expect(edit.text.startsWith("version: 0.1\nresource_usage:\n  aws_lambda_function.hello:\n")).toBe(true);
    expect(edit.text).toMatch(/    # monthly_requests:\s+# /);
    expect(edit.text.slice(edit.offset).startsWith("aws_lambda_function.hello:")).toBe(true);
  });

  it("adds an entry under an existing resource_usage, and finds one already there", () => {
    const existing = "version: 0.1\nresource_usage:\n  aws_s3_bucket.logs:\n    standard:\n      storage_gb: 500\nresource_type_default_usage: {}\n";
    const added = usageEntry(existing, "aws_nat_gateway.main", "aws_nat_gateway");
    expect(added.text).toContain("resource_usage:\n  aws_nat_gateway.main:\n    # monthly_data_processed_gb:");
    expect(added.text).toContain("  aws_s3_bucket.logs:\n    standard:\n      storage_gb: 500\n");
    const found = usageEntry(existing, "aws_s3_bucket.logs", "aws_s3_bucket");
    expect(found.added).toBe(false);
    expect(found.text).toBe(existing);
    expect(existing.slice(found.offset).startsWith("aws_s3_bucket.logs:")).toBe(true);
  });

  it("nests dotted keys and quotes addresses YAML would misread", () => {
    const edit = usageEntry("version: 0.1\n", 'aws_s3_bucket.b["x y"]', "aws_s3_bucket");
    expect(edit.text).toContain('resource_usage:\n  "aws_s3_bucket.b[\\"x y\\"]":\n');
    expect(edit.text).toMatch(/    # standard:\n    #   storage_gb:/);
  });
});

describe("USAGE_KEYS", () => {
  it("is in step with docs/iac-usage.md (run `node scripts/usage-keys.mjs` when this fails)", async () => {
    const doc = join(__dirname, "..", "..", "..", "docs", "iac-usage.md");
    let markdown: string;
    try {
      markdown = readFileSync(doc, "utf8");
    } catch {
      console.warn(`skipped: ${doc} is not here (the extension is built outside the Outlay repository)`);
      return;
    }
    const script = (await import("../scripts/usage-keys.mjs")) as { parseUsageDoc(md: string): Record<string, [string, string][]> };
    expect(USAGE_KEYS).toEqual(script.parseUsageDoc(markdown));
    expect(Object.keys(USAGE_KEYS)).toContain("aws_lambda_function");
  });
});
