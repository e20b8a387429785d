import { describe, expect, it } from "vitest";
import { hashOf, viewOf } from "./views";

describe("views", () => {
  it("reads the view from the hash, the overview otherwise", () => {
    expect(viewOf("#/finance")).toBe("finance");
    expect(viewOf("#settings")).toBe("settings");
    expect(viewOf("")).toBe("overview");
    expect(viewOf("#/nope")).toBe("overview");
    expect(hashOf("engineering")).toBe("#/engineering");
    expect(hashOf("overview")).toBe("");
    expect(viewOf("#/unit-economics")).toBe("unit-economics");
    expect(hashOf("unit-economics")).toBe("#/unit-economics");
  });
});
