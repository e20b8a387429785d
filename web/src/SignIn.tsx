import { useRef, useState, type FormEvent } from "react";
import { ApiError, createClient, setPassword, signIn } from "./api";
import { MAX_PASSWORD, MIN_PASSWORD, needsOrganisation, newPasswordProblem, setPasswordToken, signInChoice, signInFailure, type SignInField } from "./session";

/** Signed in: with an API key (kept in this tab), or null with an e-mail and password (the gateway's session cookie). */
export type OnSignedIn = (apiKey: string | null) => void;

export function SignIn({ onSignedIn, notice }: { onSignedIn: OnSignedIn; notice?: string }) {
  // A set-password link (/#set-password=<token>, from an admin) opens the page that sets the password.
  const [token, setToken] = useState<string | null>(() => setPasswordToken(window.location.hash));
  return (
    <main className="signin">
      <h1>Outlay</h1>
      {notice && <p className="state">{notice}</p>}
      {token ? (
        <SetPassword
          token={token}
          onSignedIn={onSignedIn}
          onCancel={() => {
            window.history.replaceState(null, "", window.location.pathname);
            setToken(null);
          }}
        />
      ) : (
        <SignInForm onSignedIn={onSignedIn} />
      )}
    </main>
  );
}

function SignInForm({ onSignedIn }: { onSignedIn: OnSignedIn }) {
  const [email, setEmail] = useState("");
  const [password, setPasswordText] = useState("");
  const [key, setKey] = useState("");
  const [organisation, setOrganisation] = useState("");
  const [askOrganisation, setAskOrganisation] = useState(false);
  const [error, setError] = useState<{ message: string; field: SignInField | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const emailField = useRef<HTMLInputElement>(null);
  const passwordField = useRef<HTMLInputElement>(null);
  const keyField = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const choice = signInChoice({ email, password, apiKey: key, organisation: askOrganisation ? organisation : undefined });
    if (choice.kind === "invalid") {
      setError({ message: choice.message, field: choice.field });
      const field = { email: emailField, password: passwordField, "api-key": keyField }[choice.field];
      field.current?.focus(); // the field to fix, for keyboard and screen reader users alike
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (choice.kind === "key") {
        await createClient(choice.apiKey).me(); // a wrong key is refused here, not on the first view
        onSignedIn(choice.apiKey);
      } else {
        await signIn(choice.email, choice.password, choice.tenantId);
        onSignedIn(null);
      }
    } catch (failure) {
      if (needsOrganisation(failure)) setAskOrganisation(true);
      const keyRefused = choice.kind === "key" && failure instanceof ApiError && failure.status === 401;
      setError({ message: keyRefused ? "The API key was refused: check it, or ask an admin for a new one." : signInFailure(failure), field: null });
    } finally {
      setBusy(false);
    }
  }

  const invalid = (field: SignInField) => (error?.field === field ? true : undefined);
  return (
    <form onSubmit={submit} aria-label="Sign in" noValidate>
      <fieldset className="field">
        <legend>With your e-mail and password</legend>
        <label htmlFor="signin-email">Email</label>
        <input
          id="signin-email"
          ref={emailField}
          type="email"
          autoComplete="username"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          aria-invalid={invalid("email")}
          aria-describedby={invalid("email") && "signin-error"}
        />
        <label htmlFor="signin-password">Password</label>
        <input
          id="signin-password"
          ref={passwordField}
          type="password"
          autoComplete="current-password"
          maxLength={MAX_PASSWORD}
          value={password}
          onChange={(e) => setPasswordText(e.target.value)}
          aria-invalid={invalid("password")}
          aria-describedby={invalid("password") ? "signin-error signin-password-help" : "signin-password-help"}
        />
        <p id="signin-password-help" className="help">
          No password yet, or forgotten? Ask an admin for a set-password link.
        </p>
        {askOrganisation && (
          <>
            <label htmlFor="signin-organisation">Organisation</label>
            <input id="signin-organisation" autoComplete="organization" value={organisation} onChange={(e) => setOrganisation(e.target.value)} aria-describedby="signin-organisation-help" />
            <p id="signin-organisation-help" className="help">
              Its id, as your admin gave it (e.g. <code>acme</code>).
            </p>
          </>
        )}
      </fieldset>
      <fieldset className="field" style={{ marginTop: "0.75rem" }}>
        <legend>Or with a key</legend>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          ref={keyField}
          type="password"
          autoComplete="off"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-describedby="api-key-help"
          aria-invalid={invalid("api-key")}
        />
        <p id="api-key-help" className="help">
          Kept in this tab only. <code>make run</code> writes the operator's key to <code>.outlay/api-key</code>.
        </p>
      </fieldset>
      {error && (
        <p id="signin-error" className="state error" role="alert">
          {error.message}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}

function SetPassword({ token, onSignedIn, onCancel }: { token: string; onSignedIn: OnSignedIn; onCancel: () => void }) {
  const [password, setPasswordText] = useState("");
  const [repeated, setRepeated] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const problem = newPasswordProblem(password, repeated);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const done = await setPassword(token, password);
      await signIn(done.email, password, done.tenant_id);
      window.history.replaceState(null, "", window.location.pathname); // the used token leaves the address bar
      onSignedIn(null);
    } catch (failure) {
      setError(signInFailure(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} aria-label="Set your password" noValidate>
      <h2>Set your password</h2>
      <p className="help">This link works once: from now on you sign in with your e-mail and this password.</p>
      <label htmlFor="new-password">New password</label>
      <input
        id="new-password"
        type="password"
        autoComplete="new-password"
        maxLength={MAX_PASSWORD}
        value={password}
        onChange={(e) => {
          setPasswordText(e.target.value);
          setError(null);
        }}
        aria-describedby="new-password-help"
        aria-invalid={error ? true : undefined}
      />
      <p id="new-password-help" className="help">
        At least {MIN_PASSWORD} characters; a few unrelated words make a good one.
      </p>
      <label htmlFor="repeat-password">Repeat the new password</label>
      <input
        id="repeat-password"
        type="password"
        autoComplete="new-password"
        maxLength={MAX_PASSWORD}
        value={repeated}
        onChange={(e) => {
          setRepeated(e.target.value);
          setError(null);
        }}
      />
      {error && (
        <p className="state error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Setting…" : "Set password and sign in"}
      </button>
      <button type="button" onClick={onCancel}>
        Back to sign-in
      </button>
    </form>
  );
}
