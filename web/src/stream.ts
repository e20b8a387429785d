// The live stream (WS /v1/stream, services/gateway/routes/stream.py): its messages, per-minute cost ticks folded
// into live figures, and a connection that reconnects with exponential back-off and jitter. No React here.
import type { CostsResponse, Money } from "./api";
import { nanosText, toNanos } from "./shape";

export interface CostTick {
  type: "cost_tick";
  minute: string;
  cost: Money;
  by_service: Record<string, Money>;
  cost_kind: string;
  currency: string;
}

export type StreamMessage =
  | { type: "hello"; topics: string[]; heartbeat_seconds: number }
  | { type: "heartbeat"; at: string }
  | { type: "subscribed" | "unsubscribed"; topic: string }
  | { type: "error"; detail: string }
  | CostTick
  | { type: "anomaly" | "budget_alert" | "plan" | "forecast"; [key: string]: unknown };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isMoney = (value: unknown): value is string => typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value);

/** A server message, or null for anything malformed or unknown (ignored, never thrown). */
export function parseStreamMessage(text: string): StreamMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(value) || typeof value["type"] !== "string") return null;
  switch (value["type"]) {
    case "hello":
      return {
        type: "hello",
        topics: Array.isArray(value["topics"]) ? value["topics"].filter((t): t is string => typeof t === "string") : [],
        heartbeat_seconds: typeof value["heartbeat_seconds"] === "number" ? value["heartbeat_seconds"] : 15,
      };
    case "heartbeat":
      return { type: "heartbeat", at: typeof value["at"] === "string" ? value["at"] : "" };
    case "subscribed":
    case "unsubscribed":
      return { type: value["type"], topic: String(value["topic"]) };
    case "error":
      return { type: "error", detail: String(value["detail"]) };
    case "cost_tick": {
      const { minute, cost, by_service, cost_kind, currency } = value;
      if (typeof minute !== "string" || !isMoney(cost) || !isRecord(by_service)) return null;
      if (typeof cost_kind !== "string" || typeof currency !== "string") return null;
      const services: Record<string, Money> = {};
      for (const [name, amount] of Object.entries(by_service)) {
        if (!isMoney(amount)) return null;
        services[name] = amount;
      }
      return { type: "cost_tick", minute, cost, by_service: services, cost_kind, currency };
    }
    case "anomaly":
    case "budget_alert":
    case "plan":
    case "forecast":
      return { ...value, type: value["type"] };
    default:
      return null;
  }
}

/** Minute costs per service, keyed by minute, kind and currency. The gateway sends a minute again when late data
 * lands in it (it re-reads the minutes a ledger commit touched), so a tick replaces its minute, never adds. */
export type LiveCosts = ReadonlyMap<string, CostTick>;

const tickKey = (t: Pick<CostTick, "minute" | "cost_kind" | "currency">) =>
  `${new Date(t.minute).toISOString()}|${t.cost_kind}|${t.currency}`;

/** `ticks` folded into `state`, keeping the newest `keepMinutes` minutes (a new map: state is never changed). */
export function applyTicks(state: LiveCosts, ticks: readonly CostTick[], keepMinutes = 120): LiveCosts {
  if (!ticks.length) return state;
  const next = new Map(state);
  for (const tick of ticks) next.set(tickKey(tick), tick);
  const newest = Math.max(...[...next.values()].map((t) => Date.parse(t.minute)));
  const oldest = newest - keepMinutes * 60_000;
  for (const [key, tick] of next) if (Date.parse(tick.minute) <= oldest) next.delete(key);
  return next;
}

/** Ticks from a minute costs answer grouped by service (what the stream would have sent for those minutes). */
export function ticksFromCosts(costs: Pick<CostsResponse, "rows">): CostTick[] {
  const folded = new Map<string, CostTick>();
  for (const row of costs.rows) {
    const service = row.group["service"];
    const currency = row.group["currency"];
    const kind = row.group["cost_kind"];
    if (!service || !currency || !kind) continue;
    const base = { minute: row.period_start, cost_kind: kind, currency };
    const key = tickKey(base);
    const tick = folded.get(key) ?? { type: "cost_tick", ...base, cost: "0", by_service: {} };
    tick.by_service[service] = row.cost;
    folded.set(key, tick);
  }
  for (const tick of folded.values()) {
    const sum = Object.values(tick.by_service).reduce((total, amount) => total + toNanos(amount), 0n);
    tick.cost = nanosText(sum);
  }
  return [...folded.values()];
}

export interface ServiceLive {
  service: string;
  lastMinute: bigint; // the newest minute's cost (nano-units)
  lastHour: bigint; // the newest 60 minutes' cost
  perHour: bigint; // the newest minute's cost as an hourly rate
}

export interface LiveSummary {
  currency: string;
  minute: string | null; // the newest minute seen
  total: ServiceLive; // service "Total"
  services: ServiceLive[]; // largest last hour first
}

/** The live figures in one currency: per service, the newest minute, its hourly rate and the last hour's sum.
 * A minute with a bill and an estimate counts the bill (as the overview does). */
export function liveSummary(state: LiveCosts, currency: string): LiveSummary {
  const byMinute = new Map<string, CostTick>();
  for (const tick of state.values()) {
    if (tick.currency !== currency) continue;
    const at = new Date(tick.minute).toISOString();
    const had = byMinute.get(at);
    if (!had || (had.cost_kind === "estimated" && tick.cost_kind !== "estimated")) byMinute.set(at, tick);
  }
  const minutes = [...byMinute.keys()].sort();
  const newest = minutes.at(-1) ?? null;
  const hourFloor = newest === null ? "" : new Date(Date.parse(newest) - 59 * 60_000).toISOString();
  const rows = new Map<string, ServiceLive>();
  const row = (service: string) => {
    let found = rows.get(service);
    if (!found) rows.set(service, (found = { service, lastMinute: 0n, lastHour: 0n, perHour: 0n }));
    return found;
  };
  const total: ServiceLive = { service: "Total", lastMinute: 0n, lastHour: 0n, perHour: 0n };
  for (const minute of minutes) {
    if (minute < hourFloor) continue;
    const tick = byMinute.get(minute);
    if (!tick) continue;
    for (const [service, amount] of Object.entries(tick.by_service)) {
      const nanos = toNanos(amount);
      const r = row(service);
      r.lastHour += nanos;
      total.lastHour += nanos;
      if (minute === newest) {
        r.lastMinute += nanos;
        total.lastMinute += nanos;
      }
    }
  }
  for (const r of [...rows.values(), total]) r.perHour = r.lastMinute * 60n;
  const services = [...rows.values()].sort((a, b) => (b.lastHour > a.lastHour ? 1 : b.lastHour < a.lastHour ? -1 : a.service.localeCompare(b.service)));
  return { currency, minute: newest, total, services };
}

/** The currencies seen, the largest last hour first. */
export function liveCurrencies(state: LiveCosts): string[] {
  const sums = new Map<string, bigint>();
  for (const tick of state.values()) sums.set(tick.currency, (sums.get(tick.currency) ?? 0n) + toNanos(tick.cost));
  return [...sums.entries()].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0)).map(([c]) => c);
}

export const BACKOFF = { baseMs: 1_000, maxMs: 60_000 };

/** The wait before reconnect attempt `attempt` (0 first): doubling from 1 s to at most 60 s, with "equal jitter"
 * (half fixed, half random) so a restarted gateway is not hit by every browser at the same instant. */
export function backoffDelay(attempt: number, random: () => number = Math.random, limits = BACKOFF): number {
  const ceiling = Math.min(limits.maxMs, limits.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(ceiling / 2 + (ceiling / 2) * Math.min(Math.max(random(), 0), 1));
}

/** ws://host/v1/stream?api_key=… (browsers cannot set headers on a WebSocket; the gateway takes the key here); with
 * no key (null), plain ws://host/v1/stream: the browser sends the session cookie with the handshake itself. */
export function streamUrl(location: Pick<Location, "protocol" | "host">, apiKey: string | null): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const base = `${scheme}//${location.host}/v1/stream`;
  return apiKey === null ? base : `${base}?api_key=${encodeURIComponent(apiKey)}`;
}

export type StreamStatus = "connecting" | "live" | "reconnecting" | "refused" | "stopped";

/** The part of the browser's WebSocket this uses (tests pass a fake). */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface StreamOptions {
  url: string;
  open: (url: string) => SocketLike;
  /** Sent after each (re)connect, e.g. {"subscribe": "costs"}. */
  subscriptions?: object[];
  onMessage: (message: StreamMessage) => void;
  onStatus: (status: StreamStatus, detail?: string) => void;
  random?: () => number;
}

const CONNECTING = 0; // WebSocket.CONNECTING
const POLICY_VIOLATION = 1008; // the key is missing, wrong, revoked or expired: reconnecting will not help

/** One WebSocket to the stream, opened again after a drop with back-off; quiet for three heartbeats counts as
 * a drop too (a half-open connection never closes by itself). */
export class StreamConnection {
  private socket: SocketLike | null = null;
  private attempt = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  private heartbeatMs = 15_000;
  private stopped = false;

  constructor(private readonly options: StreamOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = socket.onmessage = socket.onerror = socket.onopen = null;
      // Closing a socket still connecting makes the browser log an error: close it once it is open instead.
      if (socket.readyState === CONNECTING) socket.onopen = () => socket.close(1000, "closed by the dashboard");
      else socket.close(1000, "closed by the dashboard");
    }
    this.options.onStatus("stopped");
  }

  private clearTimers(): void {
    if (this.retry !== null) clearTimeout(this.retry);
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    this.retry = this.watchdog = null;
  }

  private connect(): void {
    if (this.attempt === 0) this.options.onStatus("connecting");
    let socket: SocketLike;
    try {
      socket = this.options.open(this.options.url);
    } catch (error) {
      this.scheduleReconnect(error instanceof Error ? error.message : String(error));
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.options.onStatus("live");
      for (const subscription of this.options.subscriptions ?? []) socket.send(JSON.stringify(subscription));
      this.armWatchdog();
    };
    socket.onmessage = (event) => {
      this.armWatchdog();
      const message = typeof event.data === "string" ? parseStreamMessage(event.data) : null;
      if (!message) return;
      if (message.type === "hello") this.heartbeatMs = Math.max(1, message.heartbeat_seconds) * 1000;
      this.options.onMessage(message);
    };
    socket.onerror = () => {
      // A close event always follows; the reconnect is scheduled there.
    };
    socket.onclose = (event) => {
      this.socket = null;
      if (this.watchdog !== null) clearTimeout(this.watchdog);
      this.watchdog = null;
      if (this.stopped) return;
      if (event.code === POLICY_VIOLATION) {
        this.options.onStatus("refused", event.reason || "the API key was refused by the stream");
        return;
      }
      this.scheduleReconnect(event.reason || `closed (${event.code})`);
    };
  }

  private armWatchdog(): void {
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      // Quiet too long: drop it and reconnect (close() fires onclose, which schedules the retry).
      const socket = this.socket;
      if (socket) {
        socket.onclose = null;
        socket.close(4000, "no heartbeat");
        this.socket = null;
      }
      this.scheduleReconnect("no heartbeat");
    }, this.heartbeatMs * 3);
  }

  private scheduleReconnect(detail: string): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt, this.options.random);
    this.attempt += 1;
    this.options.onStatus("reconnecting", `${detail}; trying again in ${Math.round(delay / 1000)} s`);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect();
    }, delay);
  }
}
