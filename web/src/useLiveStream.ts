// One WebSocket per signed-in tab (WS /v1/stream), shared by the views: its status and the live cost minutes.
import { useEffect, useState } from "react";
import { applyTicks, StreamConnection, streamUrl, type CostTick, type LiveCosts, type SocketLike, type StreamStatus } from "./stream";

export interface LiveStream {
  status: StreamStatus;
  detail: string | undefined;
  ticks: LiveCosts;
  /** When the newest cost tick arrived (ms since epoch), or null. */
  lastTickAt: number | null;
}

const NONE: LiveCosts = new Map();

/** `apiKey` null: the browser's session cookie authenticates the socket (sent with the handshake, same origin). */
export function useLiveStream(apiKey: string | null, enabled: boolean): LiveStream {
  const [status, setStatus] = useState<{ status: StreamStatus; detail?: string }>({ status: "stopped" });
  const [ticks, setTicks] = useState<{ state: LiveCosts; at: number | null }>({ state: NONE, at: null });

  useEffect(() => {
    if (!enabled || typeof WebSocket === "undefined") return;
    const connection = new StreamConnection({
      url: streamUrl(window.location, apiKey),
      // The browser's WebSocket has these members (its handlers take richer events than SocketLike names).
      open: (url) => new WebSocket(url) as unknown as SocketLike,
      onStatus: (next, detail) => setStatus({ status: next, detail }),
      onMessage: (message) => {
        if (message.type !== "cost_tick") return;
        const tick: CostTick = message;
        setTicks((before) => ({ state: applyTicks(before.state, [tick]), at: Date.now() }));
      },
    });
    connection.start();
    return () => {
      connection.stop();
      setTicks({ state: NONE, at: null });
    };
  }, [apiKey, enabled]);

  return { status: status.status, detail: status.detail, ticks: ticks.state, lastTickAt: ticks.at };
}
