import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  applyTicks,
  backoffDelay,
  liveCurrencies,
  liveSummary,
  parseStreamMessage,
  StreamConnection,
  streamUrl,
  ticksFromCosts,
  type CostTick,
  type LiveCosts,
  type SocketLike,
  type StreamMessage,
  type StreamStatus,
} from "./stream";

function tick(minute: string, byService: Record<string, string>, kind = "estimated", currency = "USD"): CostTick {
  const total = Object.values(byService).reduce((a, b) => a + Number(b), 0);
  return { type: "cost_tick", minute, cost: total.toFixed(9), by_service: byService, cost_kind: kind, currency };
}

describe("parseStreamMessage", () => {
  it("reads a cost tick as the gateway sends it", () => {
    const text = JSON.stringify({
      type: "cost_tick",
      minute: "2026-11-30T17:37:00Z",
      cost: "0.794142419",
      by_service: { "AWS Lambda": "0.043644486", "Amazon Elastic Compute Cloud": "0.750497933" },
      cost_kind: "estimated",
      currency: "USD",
    });
    expect(parseStreamMessage(text)).toEqual({
      type: "cost_tick",
      minute: "2026-11-30T17:37:00Z",
      cost: "0.794142419",
      by_service: { "AWS Lambda": "0.043644486", "Amazon Elastic Compute Cloud": "0.750497933" },
      cost_kind: "estimated",
      currency: "USD",
    });
  });
  it("reads hello with its heartbeat, and errors", () => {
    expect(parseStreamMessage('{"type":"hello","topics":["costs",3],"heartbeat_seconds":15.0}')).toEqual({
      type: "hello",
      topics: ["costs"],
      heartbeat_seconds: 15,
    });
    expect(parseStreamMessage('{"type":"error","detail":"this key lacks the scope read:plans for plans"}')).toEqual({
      type: "error",
      detail: "this key lacks the scope read:plans for plans",
    });
  });
  it("ignores what is not JSON, unknown types and malformed ticks instead of throwing", () => {
    expect(parseStreamMessage("not json")).toBeNull();
    expect(parseStreamMessage("[1,2]")).toBeNull();
    expect(parseStreamMessage('{"type":"_drop"}')).toBeNull();
    expect(parseStreamMessage('{"type":"cost_tick","minute":"2026-11-30T17:37:00Z","cost":"1","by_service":{"x":12},"cost_kind":"estimated","currency":"USD"}')).toBeNull();
    expect(parseStreamMessage('{"type":"cost_tick","minute":"2026-11-30T17:37:00Z","cost":"NaN","by_service":{},"cost_kind":"estimated","currency":"USD"}')).toBeNull();
  });
});

describe("applyTicks", () => {
  it("replaces a minute sent again (late data) instead of adding it", () => {
    let state: LiveCosts = new Map();
    state = applyTicks(state, [tick("2026-11-30T17:37:00Z", { a: "1.0" })]);
    state = applyTicks(state, [tick("2026-11-30T17:37:00Z", { a: "1.5" })]);
    expect(state.size).toBe(1);
    expect(liveSummary(state, "USD").total.lastMinute).toBe(1_500_000_000n);
  });
  it("keeps kinds and currencies apart and never changes the state it was given", () => {
    const before: LiveCosts = new Map();
    const after = applyTicks(before, [tick("2026-11-30T17:37:00Z", { a: "1" }), tick("2026-11-30T17:37:00Z", { a: "2" }, "billed"), tick("2026-11-30T17:37:00Z", { a: "3" }, "estimated", "EUR")]);
    expect(before.size).toBe(0);
    expect(after.size).toBe(3);
  });
  it("drops minutes older than the window", () => {
    const state = applyTicks(new Map(), [tick("2026-11-30T15:00:00Z", { a: "1" }), tick("2026-11-30T17:00:00Z", { a: "1" })], 60);
    expect([...state.values()].map((t) => t.minute)).toEqual(["2026-11-30T17:00:00Z"]);
  });
});

describe("ticksFromCosts", () => {
  it("folds a minute answer grouped by service into ticks with their totals", () => {
    const ticks = ticksFromCosts({
      rows: [
        { period_start: "2026-11-30T17:00:00Z", group: { service: "a", currency: "USD", cost_kind: "estimated" }, cost: "0.250000000" },
        { period_start: "2026-11-30T17:00:00Z", group: { service: "b", currency: "USD", cost_kind: "estimated" }, cost: "0.500000000" },
        { period_start: "2026-11-30T17:01:00Z", group: { service: "a", currency: "USD", cost_kind: "estimated" }, cost: "1.000000000" },
        { period_start: "2026-11-30T17:01:00Z", group: { service: null, currency: "USD", cost_kind: "estimated" }, cost: "9" },
      ],
    });
    expect(ticks).toHaveLength(2);
    expect(ticks[0]).toMatchObject({ minute: "2026-11-30T17:00:00Z", cost: "0.750000000", by_service: { a: "0.250000000", b: "0.500000000" } });
    expect(ticks[1]?.cost).toBe("1.000000000");
  });
});

describe("liveSummary", () => {
  const state = applyTicks(new Map(), [
    tick("2026-11-30T16:01:00Z", { a: "5" }), // the 61st minute back from the newest: outside the hour
    tick("2026-11-30T16:02:00Z", { a: "1", b: "2" }), // the 60th: inside
    tick("2026-11-30T17:01:00Z", { a: "0.5", b: "0.25" }),
    tick("2026-11-30T17:01:00Z", { a: "0.75", b: "0.25" }, "billed"), // the bill wins over the estimate
  ]);
  it("gives the newest minute, its hourly rate and the last 60 minutes per service", () => {
    const summary = liveSummary(state, "USD");
    expect(summary.minute).toBe("2026-11-30T17:01:00.000Z");
    expect(summary.total).toEqual({ service: "Total", lastMinute: 1_000_000_000n, perHour: 60_000_000_000n, lastHour: 4_000_000_000n });
    expect(summary.services.map((s) => [s.service, s.lastHour])).toEqual([
      ["b", 2_250_000_000n],
      ["a", 1_750_000_000n],
    ]);
  });
  it("is empty in a currency with no tick", () => {
    expect(liveSummary(state, "EUR")).toMatchObject({ minute: null, services: [] });
    expect(liveCurrencies(state)).toEqual(["USD"]);
  });
});

describe("backoffDelay", () => {
  it("doubles from 1 s with jitter between half and all of it, up to 60 s", () => {
    expect(backoffDelay(0, () => 0)).toBe(500);
    expect(backoffDelay(0, () => 1)).toBe(1000);
    expect(backoffDelay(3, () => 0.5)).toBe(6000);
    expect(backoffDelay(10, () => 1)).toBe(60_000);
    expect(backoffDelay(500, () => 0)).toBe(30_000);
  });
});

describe("streamUrl", () => {
  it("passes the key as a query parameter on the same host, wss behind https", () => {
    expect(streamUrl({ protocol: "https:", host: "outlay.example" }, "olk_a/b")).toBe("wss://outlay.example/v1/stream?api_key=olk_a%2Fb");
    expect(streamUrl({ protocol: "http:", host: "127.0.0.1:8000" }, "k")).toBe("ws://127.0.0.1:8000/v1/stream?api_key=k");
  });
});

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  closed: { code?: number; reason?: string } | null = null;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(data);
  }
  close(code?: number, reason?: string) {
    this.closed = { code, reason };
  }
  // What the server does:
  accept() {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

describe("StreamConnection", () => {
  let sockets: FakeSocket[];
  let statuses: StreamStatus[];
  let messages: StreamMessage[];
  let connection: StreamConnection;

  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    statuses = [];
    messages = [];
    connection = new StreamConnection({
      url: "ws://h/v1/stream?api_key=k",
      open: (url) => {
        const socket = new FakeSocket(url);
        sockets.push(socket);
        return socket;
      },
      subscriptions: [{ subscribe: "costs" }],
      onMessage: (m) => messages.push(m),
      onStatus: (s) => statuses.push(s),
      random: () => 1, // the longest wait of each attempt
    });
  });
  afterEach(() => {
    connection.stop();
    vi.useRealTimers();
  });

  it("subscribes once open and hands on the messages", () => {
    connection.start();
    expect(statuses).toEqual(["connecting"]);
    sockets[0]?.accept();
    expect(statuses.at(-1)).toBe("live");
    expect(sockets[0]?.sent).toEqual(['{"subscribe":"costs"}']);
    sockets[0]?.deliver(tick("2026-11-30T17:37:00Z", { a: "1" }));
    sockets[0]?.deliver({ type: "unknown_kind" });
    expect(messages.map((m) => m.type)).toEqual(["cost_tick"]);
  });

  it("reconnects after a drop, waiting longer each time, and starts over once connected", () => {
    connection.start();
    sockets[0]?.drop();
    expect(statuses.at(-1)).toBe("reconnecting");
    vi.advanceTimersByTime(999);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2); // after 1 s
    sockets[1]?.drop();
    vi.advanceTimersByTime(1999);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3); // after 2 s
    sockets[2]?.accept();
    sockets[2]?.drop();
    vi.advanceTimersByTime(1000);
    expect(sockets).toHaveLength(4); // back to 1 s after a good connection
  });

  it("does not reconnect when the key is refused (1008)", () => {
    connection.start();
    sockets[0]?.drop(1008, "the API key was revoked or has expired");
    expect(statuses.at(-1)).toBe("refused");
    vi.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);
  });

  it("treats three heartbeats of silence as a drop", () => {
    connection.start();
    sockets[0]?.accept();
    sockets[0]?.deliver({ type: "hello", topics: ["costs"], heartbeat_seconds: 10 });
    vi.advanceTimersByTime(29_999);
    expect(sockets[0]?.closed).toBeNull();
    sockets[0]?.deliver({ type: "heartbeat", at: "2026-11-30T17:38:00Z" }); // a heartbeat re-arms the watchdog
    vi.advanceTimersByTime(29_999);
    expect(sockets[0]?.closed).toBeNull();
    vi.advanceTimersByTime(1);
    expect(sockets[0]?.closed?.code).toBe(4000);
    vi.advanceTimersByTime(1000);
    expect(sockets).toHaveLength(2);
  });

  it("stops for good: no reconnect after stop()", () => {
    connection.start();
    sockets[0]?.accept();
    connection.stop();
    expect(sockets[0]?.closed?.code).toBe(1000);
    expect(statuses.at(-1)).toBe("stopped");
    sockets[0]?.drop();
    vi.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);
  });

  it("closes a socket stopped while connecting only once it opens (no browser error)", () => {
    connection.start();
    connection.stop();
    expect(sockets[0]?.closed).toBeNull();
    sockets[0]?.accept();
    expect(sockets[0]?.closed?.code).toBe(1000);
    expect(sockets[0]?.sent).toEqual([]); // no subscription on a socket being closed
  });
});
