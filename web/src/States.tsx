// The three states every request shows besides its data.
import type { ReactNode } from "react";
import { ApiError } from "./api";
import { forbidden } from "./roles";

export function Loading({ what }: { what: string }) {
  return (
    <p className="state" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state empty">{children}</p>;
}

export function Failure({ what, error, retry }: { what: string; error: unknown; retry?: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  const status = error instanceof ApiError && error.status ? ` (HTTP ${error.status})` : "";
  if (error instanceof ApiError && error.status === 403) {
    return (
      <div className="state error" role="alert" data-testid="forbidden">
        <p>
          This key is not allowed to see {what}: {message}
        </p>
      </div>
    );
  }
  return (
    <div className="state error" role="alert">
      <p>
        Could not load {what}
        {status}: {message}
      </p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** A control or a section the key's scopes do not allow: says why, instead of a button that fails. */
export function NotAllowed({ reason }: { reason: string }) {
  return (
    <p className="state unavailable" data-testid="not-allowed">
      {reason}
    </p>
  );
}

/** A mutation's outcome under its buttons: sending, the error (a 403 named as such), or what happened. */
export function Outcome({ pending, error, done }: { pending: boolean; error: unknown; done?: string | null }) {
  if (pending) return <p className="state" role="status">Sending…</p>;
  if (error) {
    const message = error instanceof Error ? error.message : JSON.stringify(error);
    return (
      <p className="state error" role="alert">
        {forbidden(error) ?? `Failed${error instanceof ApiError && error.status ? ` (HTTP ${error.status})` : ""}: ${message}`}
      </p>
    );
  }
  return done ? <p className="state" role="status">{done}</p> : null;
}
