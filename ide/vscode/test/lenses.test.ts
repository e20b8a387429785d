import { describe, expect, it } from "vitest";
import { Dec } from "../src/core/decimal";
import { changedResources, diffEstimates } from "../src/core/diff";
import { EMPTY_ESTIMATE, parseEstimate, SchemaError } from "../src/core/estimate";
import { hoverMarkdown } from "../src/core/hover";
import { buildLenses, lensTitle } from "../src/core/lenses";
import { terraformBlocks } from "../src/core/terraform";
import { estimate, priced } from "./helpers";

const TF = `resource "aws_instance" "web" {
  instance_type = "m5.large"
}
resource "aws_instance" "workers" {
  count = 3
}
resource "aws_security_group" "sg" {}
resource "aws_lambda_function" "fn" {}
module "db" {
  source = "./db"
}
`;

describe("lenses", () => {
  const blocks = terraformBlocks(TF);
  const head = estimate([
    priced("aws_instance.web", "73.58"),
    priced("aws_instance.workers[0]", "10"),
    priced("aws_instance.workers[1]", "10"),
    priced("aws_instance.workers[2]", "10"),
    { address: "aws_security_group.sg", status: "free" },
    {
      address: "aws_lambda_function.fn",
      components: [{ name: "Requests", cost: null, usage: true, unit: "1M requests", price: "0.2" }],
    },
    priced("module.db.aws_db_instance.main", "100.5"),
    priced("module.db.aws_db_instance.replica", "100.5"),
  ]);

  it("puts one lens above each priced block: cost, change, instances; none on free resources", () => {
    const base = estimate([priced("aws_instance.web", "36.79"), priced("aws_instance.workers[0]", "10")]);
    const lenses = buildLenses(blocks, head, base);
    expect(lenses.map((l) => [l.block.key, l.title])).toEqual([
      ["aws_instance.web", "$73.58/mo, +$36.79"],
      ["aws_instance.workers", "$30.00/mo, +$20.00 · 3 instances"],
      ["aws_lambda_function.fn", "$0.00/mo + usage, ±$0.00 (new)"],
      ["module.db", "$201.00/mo, +$201.00 (new)"],
    ]);
  });

  it("shows no change when the committed version costs the same, and none at all outside git", () => {
    const same = buildLenses(blocks, head, head);
    expect(same[0]!.title).toBe("$73.58/mo");
    expect(same[0]!.delta?.isZero()).toBe(true);
    const noGit = buildLenses(blocks, head, null);
    expect(noGit[0]!.title).toBe("$73.58/mo");
    expect(noGit[0]!.delta).toBeNull();
  });

  it("says when a cost is partly unpriced, and a decrease with its sign", () => {
    const withProblem = estimate([priced("aws_instance.web", "10")], [{ address: "aws_instance.web", message: "no price" }]);
    const base = estimate([priced("aws_instance.web", "12.5")]);
    expect(buildLenses(blocks, withProblem, base)[0]!.title).toBe("$10.00/mo, -$2.50 · partly unpriced");
    expect(lensTitle(Dec.parse("5"), Dec.parse("5"), { isNew: true })).toBe("$5.00/mo, +$5.00 (new)");
  });
});

describe("diffEstimates", () => {
  it("matches resources by address and components by name, as outlay diff does", () => {
    const base = estimate([
      { address: "aws_instance.web", components: [{ name: "Instance usage", cost: "36.79" }], subresources: [{ name: "root_block_device", components: [{ name: "Storage", cost: "1" }] }] },
      priced("aws_eip.old", "3.65"),
      priced("aws_s3_bucket.same", "2"),
    ]);
    const head = estimate([
      { address: "aws_instance.web", components: [{ name: "Instance usage", cost: "73.58" }], subresources: [{ name: "root_block_device", components: [{ name: "Storage", cost: "2" }] }] },
      priced("aws_s3_bucket.same", "2"),
      priced("aws_nat_gateway.new", "32.85"),
    ]);
    const diff = diffEstimates(base, head);
    expect(diff.delta.toString()).toBe("66.99"); // 110.43 - 43.44
    const byAddress = Object.fromEntries(diff.resources.map((r) => [r.address, r]));
    expect(byAddress["aws_instance.web"]!.change).toBe("changed");
    expect(byAddress["aws_instance.web"]!.components.map((c) => [c.name, c.delta.toString()])).toEqual([
      ["Instance usage", "36.79"],
      ["root_block_device / Storage", "1"],
    ]);
    expect(byAddress["aws_eip.old"]!.change).toBe("removed");
    expect(byAddress["aws_nat_gateway.new"]!.change).toBe("added");
    expect(byAddress["aws_s3_bucket.same"]!.change).toBe("unchanged");
    expect(changedResources(diff).map((r) => r.address)).toEqual(["aws_instance.web", "aws_nat_gateway.new", "aws_eip.old"]);
  });

  it("treats an empty base as all new", () => {
    const head = estimate([priced("aws_instance.web", "5")]);
    expect(diffEstimates(EMPTY_ESTIMATE, head).resources[0]!.change).toBe("added");
  });
});

describe("hover", () => {
  it("lists components, usage assumptions and a link to the usage file", () => {
    const resources = estimate([
      {
        address: "aws_lambda_function.fn",
        components: [
          { name: "Requests", cost: "20", usage: true, unit: "1M requests", quantity: "100", price: "0.2" },
          { name: "Duration", cost: null, usage: true, unit: "GB-seconds", quantity: null, price: "0.0000166667" },
        ],
      },
    ]).resources;
    const markdown = hoverMarkdown({ key: "aws_lambda_function.fn", kind: "resource", resources, base: [], problems: [], usageFile: "outlay-usage.yml" });
    expect(markdown).toContain("**aws_lambda_function.fn** — $20.00/mo (not in the last commit)");
    expect(markdown).toContain("| Requests | 100 1M requests | $0.2 / 1M requests | $20.00 |");
    expect(markdown).toContain("| Duration | — | $0.0000166667 / GB-seconds | depends on usage |");
    expect(markdown).toContain("- Requests: 100 1M requests a month (from the usage file)");
    expect(markdown).toContain("- Duration: **no usage given** — $0.0000166667 per GB-seconds");
    const link = /\[Set usage values in outlay-usage.yml\]\(command:outlay\.editUsage\?([^)]+)\)/.exec(markdown);
    expect(JSON.parse(decodeURIComponent(link![1]!))).toEqual(["aws_lambda_function.fn", "aws_lambda_function"]);
  });

  it("compares with the last commit and uses name[*] for counted resources", () => {
    const resources = estimate([priced("aws_instance.w[0]", "10"), priced("aws_instance.w[1]", "10")]).resources;
    const base = estimate([priced("aws_instance.w[0]", "10")]).resources;
    const markdown = hoverMarkdown({ key: "aws_instance.w", kind: "resource", resources, base, problems: [], usageFile: "u.yml" });
    expect(markdown).toContain("$20.00/mo (+$10.00 against the last commit: $10.00/mo)");
    expect(markdown).toContain("`aws_instance.w[1]` — $10.00/mo");
    expect(markdown).toContain(encodeURIComponent(JSON.stringify(["aws_instance.w[*]", "aws_instance"])));
  });
});

describe("parseEstimate", () => {
  it("refuses another schema version and output that is not JSON", () => {
    expect(() => parseEstimate('{"schema_version": "2"}')).toThrow(SchemaError);
    expect(() => parseEstimate("Usage: outlay")).toThrow(/did not print JSON/);
    expect(() => parseEstimate('{"schema_version": "1", "source": "x", "currency": "USD", "monthly_cost": 1.5, "resources": []}')).toThrow(/monthly_cost: expected a string/);
  });
});
