import { describe, expect, it } from "vitest";
import { diffEstimates } from "../src/core/diff";
import { diffReport } from "../src/core/report";
import { terraformBlocks } from "../src/core/terraform";
import { estimate, priced } from "./helpers";

describe("diffReport", () => {
  it("totals every unit and lists each changed resource, largest change first", () => {
    const infra = diffEstimates(
      estimate([priced("aws_instance.web", "36.79"), priced("aws_eip.old", "3.65")]),
      estimate([priced("aws_instance.web", "73.58"), priced("aws_nat_gateway.new", "32.85")]),
    );
    const same = diffEstimates(estimate([priced("Bucket", "2")]), estimate([priced("Bucket", "2")]));
    const markdown = diffReport(
      [
        { title: "infra", diff: infra },
        { title: "stack.yaml", diff: same },
        { title: "broken", diff: null, error: "Not estimated: cannot parse HCL" },
      ],
      "main",
    );
    expect(markdown).toContain("# Cost diff against main");
    expect(markdown).toContain("Monthly: $42.44 → $108.43 (**+$65.99**), over 2 unit(s).");
    const rows = markdown.split("\n").filter((l) => l.startsWith("| `"));
    expect(rows).toEqual([
      "| `aws_instance.web` | changed | $36.79 | $73.58 | +$36.79 |",
      "| `aws_nat_gateway.new` | added | — | $32.85 | +$32.85 |",
      "| `aws_eip.old` | removed | $3.65 | — | -$3.65 |",
    ]);
    expect(markdown).toContain("## stack.yaml\n\n$2.00 → $2.00 (±$0.00)\n\nNo resource's cost changes.");
    expect(markdown).toContain("## broken\n\nNot estimated: cannot parse HCL");
  });
});

describe("terraformBlocks and HCL expressions", () => {
  it("is not thrown off by for expressions, comparisons and nested blocks", () => {
    const text = `resource "aws_instance" "a" {
  tags = { for k, v in var.tags : k => v if v != "" }
  count = var.n >= 2 ? 2 : 1
  dynamic "ebs_block_device" {
    for_each = var.disks
    content { volume_size = ebs_block_device.value }
  }
}
resource "aws_instance" "b" {}
`;
    const blocks = terraformBlocks(text);
    expect(blocks.map((b) => b.key)).toEqual(["aws_instance.a", "aws_instance.b"]);
    expect(blocks[0]!.tagInsertion).toBeUndefined(); // a for expression: not a map we can add keys to safely
  });
});
