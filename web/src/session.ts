// How this tab is signed in. With an API key: the key, for this browser tab only (sessionStorage: gone when the tab
// closes). With an e-mail and password: nothing here at all; the gateway's session cookie is HttpOnly (no script
// can read it) and the app asks GET /v1/session on load whether it is signed in.
import { ApiError } from "./api";

const KEY = "outlay.apiKey";

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function storeKey(apiKey: string | null): void {
  try {
    if (apiKey === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, apiKey);
  } catch {
    // storage disabled: the key lives only in memory
  }
}

/** The gateway's rule for a new password (outlay/passwords.py): at least this many characters. */
export const MIN_PASSWORD = 12;
export const MAX_PASSWORD = 256;

export interface SignInForm {
  email: string;
  password: string;
  apiKey: string;
  organisation?: string;
}

export type SignInField = "email" | "password" | "api-key";

/** What the sign-in form asks for: a key, an e-mail and password, or why neither (and which field to fix). */
export type SignInChoice =
  | { kind: "key"; apiKey: string }
  | { kind: "password"; email: string; password: string; tenantId?: string }
  | { kind: "invalid"; message: string; field: SignInField };

export function signInChoice(form: SignInForm): SignInChoice {
  const apiKey = form.apiKey.trim();
  const email = form.email.trim();
  const password = form.password; // (spaces are part of a password)
  if (apiKey && (email || password)) {
    return { kind: "invalid", field: "api-key", message: "Use either your e-mail and password or an API key, not both." };
  }
  if (apiKey) return { kind: "key", apiKey };
  if (!email && !password) return { kind: "invalid", field: "email", message: "Enter your e-mail and password, or an API key." };
  if (!email) return { kind: "invalid", field: "email", message: "Enter your e-mail." };
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) return { kind: "invalid", field: "email", message: "Enter an e-mail address, like name@example.com." };
  if (!password) return { kind: "invalid", field: "password", message: "Enter your password." };
  const tenantId = form.organisation?.trim();
  return tenantId ? { kind: "password", email, password, tenantId } : { kind: "password", email, password };
}

/** Why a new password (typed twice) will not do, or null: the gateway's length rule, checked before sending. */
export function newPasswordProblem(password: string, repeated: string): string | null {
  if (password.length < MIN_PASSWORD) return `Use at least ${MIN_PASSWORD} characters.`;
  if (password.length > MAX_PASSWORD) return `Use at most ${MAX_PASSWORD} characters.`;
  if (!password.trim()) return "Use more than spaces.";
  if (password !== repeated) return "The two passwords differ.";
  return null;
}

/** The one-time token of a set-password link (`/#set-password=<token>`, from POST /v1/users/{id}/password-token), or
 * null. It travels in the fragment, which the browser never sends to a server. */
export function setPasswordToken(hash: string): string | null {
  const found = /^#\/?set-password=([A-Za-z0-9_-]{10,200})$/.exec(hash);
  return found?.[1] ?? null;
}

/** The gateway's 422 when an e-mail and password sign in to several organisations: the form then asks which. */
export function needsOrganisation(error: unknown): boolean {
  return error instanceof ApiError && error.status === 422 && error.message.startsWith("tenant_id:");
}

/** The sign-in page's words for a failed sign-in. */
export function signInFailure(error: unknown): string {
  if (error instanceof ApiError && error.status === 401) return "The e-mail or password is wrong.";
  if (error instanceof ApiError && error.status === 429) return `Too many failed sign-ins: ${error.message.replace(/^too many failed sign-ins[^:]*: /, "")}.`;
  if (needsOrganisation(error)) return "This e-mail and password sign in to several organisations: name one.";
  return error instanceof Error ? error.message : String(error);
}
