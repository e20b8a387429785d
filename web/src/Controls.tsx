// Shared controls: a button that says why it is off, a table with its CSV export, a choice of currency.
import { useId, type ReactNode } from "react";
import { downloadCsv, toCsv, csvFileName, type Cell } from "./csv";

/** A real button; when `reason` is set it is disabled and the reason is shown beside it and read with it (`quiet`:
 * read with it and shown on hover only, for the rows of a table whose section already says it). */
export function ActionButton({ label, reason, onClick, busy = false, testId, className, quiet = false }: {
  label: string;
  reason: string | null;
  onClick: () => void;
  busy?: boolean;
  testId?: string;
  className?: string;
  quiet?: boolean;
}) {
  const id = useId();
  return (
    <span className="action">
      <button
        type="button"
        className={className}
        disabled={reason !== null || busy}
        aria-describedby={reason ? id : undefined}
        title={reason ?? undefined}
        data-testid={testId}
        onClick={onClick}
      >
        {label}
      </button>
      {reason && (
        <span id={id} className={quiet ? "visually-hidden" : "help reason"}>
          {reason}
        </span>
      )}
    </span>
  );
}

/** "Export CSV" of the rows a table shows. */
export function ExportCsv({ name, header, rows, label = "Export CSV", testId }: {
  name: string[];
  header: string[];
  rows: Cell[][];
  label?: string;
  testId?: string;
}) {
  return (
    <button type="button" data-testid={testId} disabled={!rows.length} onClick={() => downloadCsv(csvFileName(...name), toCsv(header, rows))}>
      {label}
    </button>
  );
}

/** A scrollable table with a caption (its accessible name). `stacked`: on a narrow screen each row is a card, its
 * cells labelled by their column (each `td` names it in `data-label`), so the table never scrolls sideways. */
export function Table({ caption, head, children, testId, numeric = [], stacked = false }: {
  caption: string;
  head: string[];
  children: ReactNode;
  testId?: string;
  numeric?: number[]; // the columns of amounts, aligned right
  stacked?: boolean;
}) {
  return (
    <div className="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table data-testid={testId} className={stacked ? "stack" : undefined}>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {head.map((h, i) => (
              <th key={h} scope="col" className={numeric.includes(i) ? "num" : undefined}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export function Select<T extends string>({ label, value, options, onChange, testId }: {
  label: string;
  value: T;
  options: { value: T; label: string }[];
  onChange: (value: T) => void;
  testId?: string;
}) {
  const id = useId();
  return (
    <span className="field-inline">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} data-testid={testId} onChange={(e) => onChange(e.target.value as T)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </span>
  );
}
