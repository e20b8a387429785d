import { useCallback, useMemo, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createClient } from "./api";
import { storedKey, storeKey } from "./session";
import { SignIn } from "./SignIn";
import { Overview } from "./Overview";
import { Anomalies } from "./Anomalies";

type View = "overview" | "anomalies";
const VIEWS: { id: View; label: string }[] = [
  { id: "overview", label: "Overview" },
  { id: "anomalies", label: "Anomalies" },
];

export function App() {
  const queries = useQueryClient();
  const [apiKey, setApiKey] = useState<string | null>(storedKey);
  const [view, setView] = useState<View>("overview");
  const [notice, setNotice] = useState<string | undefined>();

  const signOut = useCallback(
    (why?: string) => {
      storeKey(null);
      queries.clear();
      setApiKey(null);
      setNotice(why);
    },
    [queries],
  );

  // A key refused mid-session (revoked, expired) sends the person back to sign in.
  const client = useMemo(() => {
    if (!apiKey) return null;
    const fetchChecked: typeof fetch = async (...args) => {
      const response = await fetch(...args);
      if (response.status === 401) signOut("The API key was refused: sign in again.");
      return response;
    };
    return createClient(apiKey, fetchChecked);
  }, [apiKey, signOut]);

  const me = useQuery({ queryKey: ["me"], queryFn: () => (client ? client.me() : Promise.reject(new Error("signed out"))), enabled: client !== null }).data;

  if (!client) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(key) => {
          storeKey(key);
          setApiKey(key);
          setNotice(undefined);
        }}
      />
    );
  }

  return (
    <div className="app">
      <header className="top">
        <h1>Outlay</h1>
        <nav aria-label="Views">
          {VIEWS.map((v) => (
            <button
              key={v.id}
              type="button"
              aria-current={view === v.id ? "page" : undefined}
              onClick={() => setView(v.id)}
            >
              {v.label}
            </button>
          ))}
        </nav>
        <div className="who">
          {me && <span title={me.scopes.join(", ")}>{me.name}</span>}
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main>{view === "overview" ? <Overview client={client} /> : <Anomalies client={client} />}</main>
    </div>
  );
}
