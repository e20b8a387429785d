import { describe, expect, it } from "vitest";
import { csvField, csvFileName, toCsv } from "./csv";

describe("csv", () => {
  it("quotes fields with commas, quotes and line breaks", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField(null)).toBe("");
    expect(csvField(12n)).toBe("12");
  });
  it("defuses spreadsheet formulas but keeps negative numbers", () => {
    expect(csvField("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvField("@cmd")).toBe("'@cmd");
    expect(csvField("-12.500000000")).toBe("-12.500000000");
    expect(csvField("-x")).toBe("'-x");
  });
  it("writes a header and rows with CRLF line ends", () => {
    expect(toCsv(["team", "cost"], [["web", "10.5"], ["data, eu", 3]])).toBe('team,cost\r\nweb,10.5\r\n"data, eu",3\r\n');
  });
  it("makes a safe file name", () => {
    expect(csvFileName("allocation", "tag:team", "2026-11-01")).toBe("allocation-tag-team-2026-11-01.csv");
    expect(csvFileName("***")).toBe("export.csv");
  });
});
