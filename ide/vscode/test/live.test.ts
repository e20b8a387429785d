import { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { LiveCost, LiveStream, streamUrl, subscribeMessage } from "../src/core/live";

describe("LiveCost", () => {
  it("keeps the newest minute of the service's cost from cost_tick messages", () => {
    const live = new LiveCost("AmazonEC2");
    expect(live.text()).toBe("AmazonEC2: waiting for the stream");
    const tick = (minute: string, cost: string): string =>
      JSON.stringify({ type: "cost_tick", minute, cost, by_service: { AmazonEC2: cost }, cost_kind: "unblended", currency: "USD" });
    expect(live.handle(tick("2026-11-30T10:01:00Z", "0.050000000"))).toBe(true);
    expect(live.handle(tick("2026-11-30T10:00:00Z", "9.000000000"))).toBe(false); // a late update of an older minute
    expect(live.handle(JSON.stringify({ type: "heartbeat" }))).toBe(false);
    expect(live.handle("not json")).toBe(false);
    expect(live.text()).toBe("AmazonEC2: $3.00/h (≈ $2,190.00/mo at this rate)");
  });

  it("builds the stream address and the subscription", () => {
    expect(streamUrl("https://outlay.example.com/")).toBe("wss://outlay.example.com/v1/stream");
    expect(streamUrl("http://localhost:8000")).toBe("ws://localhost:8000/v1/stream");
    expect(JSON.parse(subscribeMessage("AmazonEC2"))).toEqual({ subscribe: "costs", filters: { service: ["AmazonEC2"] } });
  });
});

describe("LiveStream", () => {
  let server: WebSocketServer | null = null;
  afterEach(() => server?.close());

  it("connects with the key in the Authorization header, subscribes, and reports ticks", async () => {
    const seen: { auth?: string; subscribe?: unknown; path?: string } = {};
    server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    server.on("connection", (socket, request) => {
      seen.auth = request.headers.authorization;
      seen.path = request.url;
      socket.on("message", (data) => {
        seen.subscribe = JSON.parse(Buffer.from(data as Buffer).toString("utf8"));
        socket.send(JSON.stringify({ type: "cost_tick", minute: "2026-11-30T10:00:00Z", cost: "0.010000000", by_service: { AmazonRDS: "0.010000000" } }));
      });
    });
    await new Promise((resolve) => server!.on("listening", resolve));
    const port = (server.address() as AddressInfo).port;
    const texts: string[] = [];
    let resolveTick: () => void = () => undefined;
    const ticked = new Promise<void>((resolve) => {
      resolveTick = resolve;
    });
    const stream = new LiveStream({
        apiUrl: `http://127.0.0.1:${port}`,
        apiKey: "secret-key",
        service: "AmazonRDS",
        onChange: (live, state) => {
          if (state !== "message") return;
          texts.push(live.text());
          resolveTick();
        },
      });
    stream.start();
    await ticked;
    stream.dispose();
    expect(seen.auth).toBe("Bearer secret-key");
    expect(seen.path).toBe("/v1/stream");
    expect(seen.subscribe).toEqual({ subscribe: "costs", filters: { service: ["AmazonRDS"] } });
    expect(texts[0]).toBe("AmazonRDS: $0.60/h (≈ $438.00/mo at this rate)");
  });
});
