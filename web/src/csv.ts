// CSV export of what a table shows (RFC 4180), made in the browser from the data already loaded.

export type Cell = string | number | bigint | null | undefined;

/** One field: quoted when it holds a comma, quote or line break; a text starting with = + - @ (a spreadsheet
 * formula) gets a leading apostrophe unless it is a plain number, so opening the file runs nothing. */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text) && !/^[+-]?\d+(\.\d+)?$/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Header and rows as CSV text, lines ended with CRLF. */
export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** A safe file name: "allocation tag:team 2026-11" → "allocation-tag-team-2026-11.csv". */
export function csvFileName(...parts: string[]): string {
  const stem = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `${stem || "export"}.csv`;
}

/** Offer the text as a download (a browser-only side effect). */
export function downloadCsv(fileName: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
