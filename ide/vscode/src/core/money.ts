/** How amounts read in lenses, hovers and the status bar: cents, half to even, thousands separated ("$1,925.19"). */

import { Dec } from "./decimal";

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** "$1,234.57" (a negative amount "-$1.00"): what `outlay estimate` shows, to the cent. */
export function money(amount: Dec): string {
  const cents = amount.roundedUnits(2);
  const negative = cents < 0n;
  const text = (negative ? -cents : cents).toString().padStart(3, "0");
  return `${negative ? "-" : ""}$${groupThousands(text.slice(0, -2))}.${text.slice(-2)}`;
}

/** A change: "+$36.79", "-$12.00", or "±$0.00" when it rounds to nothing. */
export function signedMoney(delta: Dec): string {
  const cents = delta.roundedUnits(2);
  if (cents === 0n) {
    return "±$0.00";
  }
  return cents > 0n ? `+${money(delta)}` : money(delta);
}

/** A unit price as the CLI prints it: exact, no rounding ("$0.0000166667"). */
export function unitPrice(price: Dec): string {
  return `$${price.toString()}`;
}

/** A quantity with thousands separators, exact ("1,000,000", "730", "0.5"). */
export function quantity(value: Dec): string {
  const [whole = "0", fraction] = value.toString().split(".");
  const sign = whole.startsWith("-") ? "-" : "";
  const grouped = groupThousands(whole.replace("-", ""));
  return `${sign}${grouped}${fraction ? `.${fraction}` : ""}`;
}
