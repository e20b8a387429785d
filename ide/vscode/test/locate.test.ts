import { describe, expect, it } from "vitest";
import { LineIndex } from "../src/core/blocks";
import { jsonBlocks, looksLikeCloudFormation, yamlBlocks } from "../src/core/cloudformation";
import { blockKeyOf, fileKind } from "../src/core/sources";
import { terraformBlocks } from "../src/core/terraform";

const TF = `
# resource "aws_instance" "commented" {}
variable "size" {
  default = "m5.large"
}

resource "aws_instance" "web" {
  instance_type = var.size
  user_data     = <<-EOF
    #!/bin/sh
    echo "}" { unbalanced
  EOF
  tags = {
    Name = "web-\${var.env}-{x}"
  }
}

/* resource "aws_db_instance" "gone" { */
resource "aws_db_instance" "db" {
  count          = 2
  instance_class = "db.m5.large" // a "}" in a comment
}

module "network" {
  source = "./modules/network"
  cidr   = "10.0.0.0/16"
}
`;

function applyInsertion(text: string, offset: number, insert: string): string {
  return text.slice(0, offset) + insert + text.slice(offset);
}

describe("terraformBlocks", () => {
  it("finds resource and module blocks, skipping comments, strings and heredocs", () => {
    const blocks = terraformBlocks(TF);
    expect(blocks.map((b) => b.key)).toEqual(["aws_instance.web", "aws_db_instance.db", "module.network"]);
    const lines = new LineIndex(TF);
    expect(blocks.map((b) => lines.position(b.headerStart).line)).toEqual([6, 18, 23]);
    const web = blocks[0]!;
    expect(TF.slice(web.start, web.end).endsWith("}\n}")).toBe(true);
    expect(TF.slice(web.headerStart, web.headerEnd)).toBe('resource "aws_instance" "web"');
    expect(blocks[2]!.moduleSource).toBe("./modules/network");
  });

  it("adds tag keys to an existing multi-line tags map", () => {
    const web = terraformBlocks(TF)[0]!;
    const insertion = web.tagInsertion!;
    const after = applyInsertion(TF, insertion.offset, insertion.text(["team", "env"]));
    expect(after).toContain('  tags = {\n    team = "TODO"\n    env = "TODO"\n    Name = "web-');
    expect(terraformBlocks(after).map((b) => b.key)).toEqual(["aws_instance.web", "aws_db_instance.db", "module.network"]);
  });

  it("adds a tags map to a block without one, before its closing brace", () => {
    const db = terraformBlocks(TF)[1]!;
    const after = applyInsertion(TF, db.tagInsertion!.offset, db.tagInsertion!.text(["team"]));
    expect(after).toContain('// a "}" in a comment\n  tags = {\n    team = "TODO"\n  }\n}');
  });

  it("adds keys to a one-line map, and offers nothing for tags from an expression", () => {
    const oneLine = 'resource "aws_eip" "ip" {\n  tags = { Name = "x" }\n}\n';
    const block = terraformBlocks(oneLine)[0]!;
    expect(applyInsertion(oneLine, block.tagInsertion!.offset, block.tagInsertion!.text(["team"]))).toContain(
      'tags = { team = "TODO", Name = "x" }',
    );
    const empty = 'resource "aws_eip" "ip" {\n  tags = {}\n}\n';
    const e = terraformBlocks(empty)[0]!;
    expect(applyInsertion(empty, e.tagInsertion!.offset, e.tagInsertion!.text(["team"]))).toContain('tags = { team = "TODO" }');
    const merged = 'resource "aws_eip" "ip" {\n  tags = merge(local.tags, { Name = "x" })\n}\n';
    expect(terraformBlocks(merged)[0]!.tagInsertion).toBeUndefined();
  });

  it("keeps finding blocks after an unterminated string (a file mid-edit)", () => {
    const text = 'resource "aws_instance" "a" {\n  ami = "oops\n}\nresource "aws_instance" "b" {\n}\n';
    expect(terraformBlocks(text).map((b) => b.key)).toEqual(["aws_instance.a", "aws_instance.b"]);
  });
});

const YAML = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Size:
    Type: String
    Default: t3.small
Resources:
  # the web server
  WebServer:
    Type: AWS::EC2::Instance
    Properties:
      InstanceType: !Ref Size
      ImageId: ami-123
  Database:
    Type: "AWS::RDS::DBInstance"
    Properties:
      DBInstanceClass: db.m5.large
      Tags:
        - Key: Name
          Value: db
  Queue:
    Type: AWS::SQS::Queue
Outputs:
  Url:
    Value: !GetAtt WebServer.PublicDnsName
`;

describe("yamlBlocks", () => {
  it("finds each logical id under Resources with its type", () => {
    const blocks = yamlBlocks(YAML);
    expect(blocks.map((b) => [b.key, b.type])).toEqual([
      ["WebServer", "AWS::EC2::Instance"],
      ["Database", "AWS::RDS::DBInstance"],
      ["Queue", "AWS::SQS::Queue"],
    ]);
    const lines = new LineIndex(YAML);
    expect(blocks.map((b) => lines.position(b.headerStart))).toEqual([
      { line: 7, character: 2 },
      { line: 12, character: 2 },
      { line: 19, character: 2 },
    ]);
    expect(YAML.slice(blocks[1]!.start, blocks[1]!.end)).toContain("Value: db");
    expect(YAML.slice(blocks[1]!.start, blocks[1]!.end)).not.toContain("Queue");
  });

  it("adds tags to an existing Tags list, or a Tags list to Properties", () => {
    const [web, db, queue] = yamlBlocks(YAML);
    const withDb = applyInsertion(YAML, db!.tagInsertion!.offset, db!.tagInsertion!.text(["team"]));
    expect(withDb).toContain("      Tags:\n        - Key: team\n          Value: TODO\n        - Key: Name\n");
    const withWeb = applyInsertion(YAML, web!.tagInsertion!.offset, web!.tagInsertion!.text(["team", "env"]));
    expect(withWeb).toContain("      ImageId: ami-123\n      Tags:\n        - Key: team\n          Value: TODO\n        - Key: env\n          Value: TODO\n  Database:");
    expect(queue!.tagInsertion).toBeUndefined(); // no Properties: where tags go is not obvious
    expect(yamlBlocks(withWeb).map((b) => b.key)).toEqual(["WebServer", "Database", "Queue"]);
  });
});

const JSON_TEMPLATE = `{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Resources": {
    "Web": {
      "Type": "AWS::EC2::Instance",
      "Properties": {
        "InstanceType": "m5.large",
        "Tags": [{"Key": "Name", "Value": "web"}]
      }
    },
    "Bucket": {
      "Type": "AWS::S3::Bucket",
      "Properties": {}
    }
  }
}`;

describe("jsonBlocks", () => {
  it("finds resources with their key's position and adds tags that keep the JSON valid", () => {
    const blocks = jsonBlocks(JSON_TEMPLATE);
    expect(blocks.map((b) => [b.key, b.type])).toEqual([
      ["Web", "AWS::EC2::Instance"],
      ["Bucket", "AWS::S3::Bucket"],
    ]);
    expect(JSON_TEMPLATE.slice(blocks[0]!.headerStart, blocks[0]!.headerEnd)).toBe('"Web"');
    for (const block of blocks) {
      const after = applyInsertion(JSON_TEMPLATE, block.tagInsertion!.offset, block.tagInsertion!.text(["team", "env"]));
      const parsed = JSON.parse(after) as { Resources: Record<string, { Properties: { Tags: { Key: string }[] } }> };
      expect(parsed.Resources[block.key]!.Properties.Tags.map((t) => t.Key)).toEqual(
        block.key === "Web" ? ["team", "env", "Name"] : ["team", "env"],
      );
    }
  });

  it("gives no blocks for JSON it cannot parse (the estimator's message says why)", () => {
    expect(jsonBlocks('{"Resources": {"A": ')).toEqual([]);
  });
});

describe("sources", () => {
  it("prices .tf files and only the YAML/JSON that are CloudFormation templates", () => {
    expect(fileKind("main.tf")).toBe("terraform");
    expect(fileKind("stack.yaml", YAML)).toBe("cloudformation");
    expect(fileKind("t.json", JSON_TEMPLATE)).toBe("cloudformation");
    expect(fileKind("package.json", '{"name": "x"}')).toBeNull();
    expect(fileKind("plan.json", '{"format_version": "1.2", "planned_values": {"Type": "AWS::X::Y"}}')).toBeNull();
    expect(fileKind(".github/workflows/ci.yml", "on: push\njobs: {}\n")).toBeNull();
    expect(looksLikeCloudFormation("Resources:\n  A:\n    Type: AWS::S3::Bucket\n")).toBe(true);
  });

  it("maps estimate addresses to the block that wrote them", () => {
    expect(blockKeyOf("aws_instance.web")).toBe("aws_instance.web");
    expect(blockKeyOf("aws_instance.web[2]")).toBe("aws_instance.web");
    expect(blockKeyOf('aws_instance.web["a.b"]')).toBe("aws_instance.web");
    expect(blockKeyOf("module.net[0].module.sub.aws_nat_gateway.x")).toBe("module.net");
    expect(blockKeyOf("WebServer")).toBe("WebServer");
  });
});
