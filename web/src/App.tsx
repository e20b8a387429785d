import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createClient, sessionStatus, signOut as endSession } from "./api";
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

/** How this tab is signed in: an API key, or null for the e-mail-and-password session (the gateway's cookie). */
interface Auth {
  apiKey: string | null;
}

export function App() {
  const queries = useQueryClient();
  const [auth, setAuth] = useState<Auth | null>(() => {
    const key = storedKey();
    return key ? { apiKey: key } : null;
  });
  // Without a key in this tab, ask the gateway whether the browser holds a session (the cookie is HttpOnly: only
  // the gateway can tell); the sign-in page waits for the answer.
  const [checking, setChecking] = useState(() => storedKey() === null);
  const [view, setView] = useState<View>(() => viewOf(window.location.hash));
  const [notice, setNotice] = useState<string | undefined>();

  useEffect(() => {
    const follow = () => setView(viewOf(window.location.hash));
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, []);

  useEffect(() => {
    if (!checking) return;
    let current = true;
    sessionStatus()
      .then((status) => {
        if (current && status.signed_in) setAuth({ apiKey: null });
      })
      .catch(() => undefined) // the gateway away: the sign-in page says so when someone signs in
      .finally(() => {
        if (current) setChecking(false);
      });
    return () => {
      current = false;
    };
  }, [checking]);

  const session = auth !== null && auth.apiKey === null;
  const signOut = useCallback(
    async (why?: string) => {
      let notice = why;
      if (session) {
        // The session ends on the server, so the cookie (and any copy of it) is refused from now on.
        try {
          await endSession();
        } catch (failure) {
          notice = `Signed out of this tab, but the gateway could not be told (${failure instanceof Error ? failure.message : String(failure)}).`;
        }
      }
      storeKey(null);
      queries.clear();
      setAuth(null);
      setNotice(notice);
    },
    [queries, session],
  );

  // A key or session refused mid-way (revoked, expired, signed out elsewhere) sends the person back to sign in.
  const client = useMemo(() => {
    if (!auth) return null;
    const fetchChecked: typeof fetch = async (...args) => {
      const response = await fetch(...args);
      if (response.status === 401) void signOut(auth.apiKey === null ? "Your session has ended: sign in again." : "The API key was refused: sign in again.");
      return response;
    };
    return createClient(auth.apiKey, fetchChecked);
  }, [auth, signOut]);

  const meQuery = useQuery({ queryKey: ["me"], queryFn: () => (client ? client.me() : Promise.reject(new Error("signed out"))), enabled: client !== null });
  const me = meQuery.data;
  const streaming = me !== undefined && may(me.scopes, "read:costs");
  const live = useLiveStream(auth?.apiKey ?? null, client !== null && streaming);

  if (!client) {
    if (checking) {
      return (
        <main className="signin">
          <h1>Outlay</h1>
          <p className="state" role="status">
            Checking whether you are signed in…
          </p>
        </main>
      );
    }
    return (
      <SignIn
        notice={notice}
        onSignedIn={(key) => {
          storeKey(key);
          setAuth({ apiKey: key });
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
      {/* A button, not a "#content" link: the hash holds the view (/#/finance). */}
      <button type="button" className="skip-link" onClick={() => document.getElementById("content")?.focus()}>
        Skip to content
      </button>
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
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="content" tabIndex={-1}>
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
