/**
 * Exact decimal arithmetic for the money strings `outlay estimate --format json` writes ("123.96", "0.0000166667").
 * The CLI never writes floats; adding them up as floats would drift from its totals, so we don't either.
 */

export class Dec {
  private constructor(
    readonly units: bigint,
    readonly scale: number,
  ) {}

  static readonly ZERO = new Dec(0n, 0);

  static parse(text: string): Dec {
    const match = /^([+-]?)(\d+)(?:\.(\d*))?$/.exec(text.trim());
    if (match === null) {
      throw new Error(`not a decimal number: ${JSON.stringify(text)}`);
    }
    const [, sign = "", whole = "0", fraction = ""] = match;
    const units = BigInt(whole + fraction) * (sign === "-" ? -1n : 1n);
    return new Dec(units, fraction.length);
  }

  /** A decimal string or null (a cost that depends on usage) as a Dec or null. */
  static parseOrNull(text: string | null | undefined): Dec | null {
    return text === null || text === undefined ? null : Dec.parse(text);
  }

  private rescaled(scale: number): bigint {
    return this.units * 10n ** BigInt(scale - this.scale);
  }

  plus(other: Dec): Dec {
    const scale = Math.max(this.scale, other.scale);
    return new Dec(this.rescaled(scale) + other.rescaled(scale), scale);
  }

  minus(other: Dec): Dec {
    return this.plus(other.negated());
  }

  negated(): Dec {
    return new Dec(-this.units, this.scale);
  }

  compare(other: Dec): number {
    const scale = Math.max(this.scale, other.scale);
    const a = this.rescaled(scale);
    const b = other.rescaled(scale);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  isZero(): boolean {
    return this.units === 0n;
  }

  isNegative(): boolean {
    return this.units < 0n;
  }

  /** Rounded to `places` decimals, half to even (Python's Decimal.quantize default, which the CLI uses). */
  roundedUnits(places: number): bigint {
    if (this.scale <= places) {
      return this.rescaled(places);
    }
    const divisor = 10n ** BigInt(this.scale - places);
    const negative = this.units < 0n;
    const magnitude = negative ? -this.units : this.units;
    let quotient = magnitude / divisor;
    const remainder = magnitude % divisor;
    const twice = remainder * 2n;
    if (twice > divisor || (twice === divisor && quotient % 2n === 1n)) {
      quotient += 1n;
    }
    return negative ? -quotient : quotient;
  }

  /** Plain text with trailing zeros removed ("15.984", "730", "0.05"). */
  toString(): string {
    const negative = this.units < 0n;
    const digits = (negative ? -this.units : this.units).toString().padStart(this.scale + 1, "0");
    const whole = digits.slice(0, digits.length - this.scale);
    const fraction = digits.slice(digits.length - this.scale).replace(/0+$/, "");
    return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
  }
}

export function sum(values: Iterable<Dec>): Dec {
  let total = Dec.ZERO;
  for (const value of values) {
    total = total.plus(value);
  }
  return total;
}
