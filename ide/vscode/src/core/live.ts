/**
 * The live cost of one service from the Outlay API: `WS /v1/stream`, subscribed to `costs` filtered to the
 * service, `cost_tick` messages (one minute's cost, nine decimals) folded into what the status bar shows.
 * The key goes in the Authorization header; it is never written anywhere.
 */

import WebSocket from "ws";
import { Dec } from "./decimal";
import { money } from "./money";

const MINUTES_A_MONTH = 730 * 60; // the estimator's month: 730 hours

export function streamUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/stream`;
  url.search = "";
  return url.toString();
}

export function subscribeMessage(service: string): string {
  return JSON.stringify({ subscribe: "costs", filters: { service: [service] } });
}

/** What the stream has said about the service: the cost of the latest minute seen. */
export class LiveCost {
  minute: string | null = null;
  perMinute: Dec | null = null;
  error: string | null = null;

  constructor(readonly service: string) {}

  /** Folds one server message in; true when what the status bar shows changed. */
  handle(text: string): boolean {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return false;
    }
    if (message.type === "error") {
      this.error = typeof message.message === "string" ? message.message : JSON.stringify(message);
      return true;
    }
    if (message.type !== "cost_tick" || typeof message.minute !== "string") return false;
    const byService = message.by_service as Record<string, unknown> | undefined;
    const cost = byService?.[this.service];
    if (typeof cost !== "string") return false;
    if (this.minute !== null && message.minute < this.minute) return false; // a late update of an older minute
    this.minute = message.minute;
    this.perMinute = Dec.parse(cost);
    this.error = null;
    return true;
  }

  text(): string {
    if (this.perMinute === null) return `${this.service}: waiting for the stream`;
    const perMinute = Number(this.perMinute.toString());
    const hourly = Dec.parse((perMinute * 60).toFixed(4));
    const monthly = Dec.parse((perMinute * MINUTES_A_MONTH).toFixed(2));
    return `${this.service}: ${money(hourly)}/h (≈ ${money(monthly)}/mo at this rate)`;
  }
}

export interface StreamOptions {
  apiUrl: string;
  apiKey: string;
  service: string;
  onChange: (live: LiveCost, state: "open" | "closed" | "message") => void;
  /** Reconnect backoff, doubled after each failure up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** A stream that reconnects after a drop (1 s, doubling to a minute) until disposed. */
export class LiveStream {
  readonly live: LiveCost;
  private socket: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private delay: number;
  private disposed = false;

  constructor(private readonly options: StreamOptions) {
    this.live = new LiveCost(options.service);
    this.delay = options.minDelayMs ?? 1000;
  }

  start(): void {
    if (this.disposed) return;
    const socket = new WebSocket(streamUrl(this.options.apiUrl), {
      headers: { Authorization: `Bearer ${this.options.apiKey}` },
    });
    this.socket = socket;
    socket.on("open", () => {
      this.delay = this.options.minDelayMs ?? 1000;
      socket.send(subscribeMessage(this.options.service));
      this.options.onChange(this.live, "open");
    });
    socket.on("message", (data: WebSocket.RawData) => {
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString("utf8")
        : data instanceof ArrayBuffer
          ? Buffer.from(new Uint8Array(data)).toString("utf8")
          : data.toString("utf8");
      if (this.live.handle(text)) this.options.onChange(this.live, "message");
    });
    socket.on("unexpected-response", (_request, response) => {
      this.live.error = `the API refused the stream (HTTP ${String(response.statusCode)}): check the key and outlay.apiUrl`;
    });
    socket.on("error", (error: Error) => {
      this.live.error ??= error.message;
    });
    socket.on("close", () => {
      this.socket = null;
      this.options.onChange(this.live, "closed");
      if (this.disposed) return;
      this.timer = setTimeout(() => this.start(), this.delay);
      this.delay = Math.min(this.delay * 2, this.options.maxDelayMs ?? 60_000);
    });
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.socket?.terminate();
    this.socket = null;
  }
}
