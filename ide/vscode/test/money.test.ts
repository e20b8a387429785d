import { describe, expect, it } from "vitest";
import { Dec, sum } from "../src/core/decimal";
import { money, quantity, signedMoney, unitPrice } from "../src/core/money";

describe("Dec", () => {
  it("adds decimals of different scales exactly, where floats would not", () => {
    expect(Dec.parse("0.1").plus(Dec.parse("0.2")).toString()).toBe("0.3");
    expect(sum(["1925.186", "0.0000166667", "-1"].map((t) => Dec.parse(t))).toString()).toBe("1924.1860166667");
  });

  it("compares and subtracts", () => {
    expect(Dec.parse("73.58").minus(Dec.parse("36.79")).toString()).toBe("36.79");
    expect(Dec.parse("1.50").compare(Dec.parse("1.5"))).toBe(0);
    expect(Dec.parse("-2").compare(Dec.parse("1"))).toBe(-1);
  });

  it("refuses what is not a decimal", () => {
    expect(() => Dec.parse("1e5")).toThrow(/not a decimal/);
    expect(() => Dec.parse("")).toThrow();
  });

  it("rounds half to even, as the CLI's Decimal.quantize does", () => {
    expect(Dec.parse("0.125").roundedUnits(2)).toBe(12n);
    expect(Dec.parse("0.135").roundedUnits(2)).toBe(14n);
    expect(Dec.parse("0.1251").roundedUnits(2)).toBe(13n);
    expect(Dec.parse("-0.125").roundedUnits(2)).toBe(-12n);
  });
});

describe("money", () => {
  it("formats cents with thousands separators", () => {
    expect(money(Dec.parse("1925.186"))).toBe("$1,925.19");
    expect(money(Dec.parse("73.58"))).toBe("$73.58");
    expect(money(Dec.parse("0"))).toBe("$0.00");
    expect(money(Dec.parse("0.004"))).toBe("$0.00");
    expect(money(Dec.parse("1234567.5"))).toBe("$1,234,567.50");
    expect(money(Dec.parse("-12"))).toBe("-$12.00");
  });

  it("signs a change", () => {
    expect(signedMoney(Dec.parse("36.79"))).toBe("+$36.79");
    expect(signedMoney(Dec.parse("-36.79"))).toBe("-$36.79");
    expect(signedMoney(Dec.parse("0.001"))).toBe("±$0.00");
  });

  it("keeps unit prices and quantities exact", () => {
    expect(unitPrice(Dec.parse("0.0000166667"))).toBe("$0.0000166667");
    expect(quantity(Dec.parse("1000000"))).toBe("1,000,000");
    expect(quantity(Dec.parse("730.50"))).toBe("730.5");
  });
});
