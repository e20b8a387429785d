import { useState, type FormEvent } from "react";
import { createClient, type Me } from "./api";

export function SignIn({ onSignedIn, notice }: { onSignedIn: (apiKey: string, me: Me) => void; notice?: string }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const apiKey = key.trim();
    if (!apiKey) {
      setError("Enter an API key.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSignedIn(apiKey, await createClient(apiKey).me());
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <h1>Outlay</h1>
      {notice && <p className="state">{notice}</p>}
      <form onSubmit={submit}>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-describedby="api-key-help"
          aria-invalid={error ? true : undefined}
        />
        <p id="api-key-help" className="help">
          Kept in this tab only. <code>make run</code> writes the operator's key to <code>.outlay/api-key</code>.
        </p>
        {error && (
          <p className="state error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
