import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createClient } from "./api";
import { storedKey, storeKey } from "./session";
import { SignIn } from "./SignIn";
import { Overview } from "./Overview";
import { Failure, Loading } from "./States";
import { may } from "./roles";
import { useLiveStream } from "./useLiveStream";
import { hashOf, viewOf, VIEWS, type View } from "./views";

// The overview is the first view; the others load when first opened (their own chunks).
const Engineering = lazy(() => import("./Engineering").then((m) => ({ default: m.Engineering })));
const Finance = lazy(() => import("./Finance").then((m) => ({ default: m.Finance })));
const UnitEconomics = lazy(() => import("./UnitEconomics").then((m) => ({ default: m.UnitEconomics })));
const Anomalies = lazy(() => import("./Anomalies").then((m) => ({ default: m.Anomalies })));
const Settings = lazy(() => import("./Settings").then((m) => ({ default: m.Settings })));

const STATUS_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting",
  refused: "Live updates refused",
  stopped: "Polling each minute",
} as const;

export function App() {
  const queries = useQueryClient();
  const [apiKey, setApiKey] = useState<string | null>(storedKey);
  const [view, setView] = useState<View>(() => viewOf(window.location.hash));
  const [notice, setNotice] = useState<string | undefined>();

  useEffect(() => {
    const follow = () => setView(viewOf(window.location.hash));
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, []);

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

  const meQuery = useQuery({ queryKey: ["me"], queryFn: () => (client ? client.me() : Promise.reject(new Error("signed out"))), enabled: client !== null });
  const me = meQuery.data;
  const streaming = me !== undefined && may(me.scopes, "read:costs");
  const live = useLiveStream(apiKey, streaming);

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

  const open = (next: View) => {
    setView(next);
    window.history.pushState(null, "", hashOf(next) || window.location.pathname);
  };

  return (
    <div className="app">
      <header className="top">
        <h1>Outlay</h1>
        <nav aria-label="Views">
          {VIEWS.map((v) => (
            <button key={v.id} type="button" aria-current={view === v.id ? "page" : undefined} onClick={() => open(v.id)}>
              {v.label}
            </button>
          ))}
        </nav>
        <div className="who">
          {streaming && (
            <span className={`live-status ${live.status}`} data-testid="stream-status" title={live.detail ?? ""} role="status">
              {STATUS_TEXT[live.status]}
            </span>
          )}
          {me && (
            <span title={me.scopes.join(", ")} data-testid="signed-in-as">
              {me.name}
            </span>
          )}
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        {meQuery.isError && <Failure what="what this key may do (GET /v1/me)" error={meQuery.error} retry={() => void meQuery.refetch()} />}
        <Suspense fallback={<Loading what="the view" />}>
          {view === "overview" ? (
            <Overview client={client} me={me} lastTickAt={live.lastTickAt} />
          ) : view === "engineering" ? (
            <Engineering client={client} me={me} live={live} />
          ) : view === "finance" ? (
            <Finance client={client} me={me} />
          ) : view === "unit-economics" ? (
            <UnitEconomics client={client} me={me} />
          ) : view === "anomalies" ? (
            <Anomalies client={client} me={me} />
          ) : (
            <Settings client={client} me={me} />
          )}
        </Suspense>
      </main>
    </div>
  );
}
