import { describe, expect, it, vi } from "vitest";
import { ApiError, createClient, queryString } from "./api";

function reply(status: number, body: unknown, statusText = ""): Response {
  return new Response(JSON.stringify(body), { status, statusText, headers: { "Content-Type": "application/json" } });
}

function mockFetch(...responses: (Response | Error)[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const impl = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    const next = responses.shift();
    if (!next) throw new Error("no response left");
    if (next instanceof Error) throw next;
    return next;
  });
  return { impl: impl as unknown as typeof fetch, calls };
}

describe("queryString", () => {
  it("repeats list parameters and leaves out undefined ones", () => {
    expect(queryString({ group_by: ["service", "tag:team"], start: "2026-11-01", cursor: undefined, limit: 5 })).toBe(
      "?group_by=service&group_by=tag%3Ateam&start=2026-11-01&limit=5",
    );
    expect(queryString({})).toBe("");
  });
});

describe("createClient", () => {
  it("sends the key as a bearer token and asks for daily costs by default", async () => {
    const body = { rows: [], totals: [], total: "0.000000000" };
    const { impl, calls } = mockFetch(reply(200, body));
    const answer = await createClient("secret-key", impl).costs({ start: "2026-10-01", end: "2026-12-01" });
    expect(answer).toEqual(body);
    expect(calls[0]?.url).toBe("/v1/costs?granularity=day&start=2026-10-01&end=2026-12-01");
    expect(calls[0]?.init.method).toBe("GET");
    expect((calls[0]?.init.headers as Record<string, string>)["Authorization"]).toBe("Bearer secret-key");
  });

  it("asks for the total forecast", async () => {
    const { impl, calls } = mockFetch(reply(200, { forecasts: [] }));
    await createClient("k", impl).forecasts();
    expect(calls[0]?.url).toBe("/v1/forecasts?scope=total");
  });

  it("posts feedback as JSON to the anomaly's path", async () => {
    const { impl, calls } = mockFetch(reply(200, { anomaly_id: "a/1", feedback: "planned" }));
    const updated = await createClient("k", impl).anomalyFeedback("a/1", "planned");
    expect(updated.feedback).toBe("planned");
    expect(calls[0]?.url).toBe("/v1/anomalies/a%2F1/feedback");
    expect(calls[0]?.init.method).toBe("POST");
    expect(calls[0]?.init.body).toBe('{"verdict":"planned"}');
    expect((calls[0]?.init.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
  });

  it("lists anomalies with their filters", async () => {
    const { impl, calls } = mockFetch(reply(200, { items: [], next_cursor: null }));
    await createClient("k", impl).anomalies({ status: "any", limit: 50 });
    expect(calls[0]?.url).toBe("/v1/anomalies?status=any&limit=50");
  });

  it("turns a problem document into an ApiError with its detail", async () => {
    const { impl } = mockFetch(reply(403, { title: "Forbidden", status: 403, detail: "needs write:anomalies" }));
    const failure = createClient("k", impl).anomalyFeedback("a1", "true_positive");
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 403, message: "needs write:anomalies" });
  });

  it("falls back to the status line when the error is not JSON", async () => {
    const { impl } = mockFetch(new Response("gateway down", { status: 502, statusText: "Bad Gateway" }));
    await expect(createClient("k", impl).budgets()).rejects.toMatchObject({ status: 502, message: "502 Bad Gateway" });
  });

  it("reports an unreachable API as status 0", async () => {
    const { impl } = mockFetch(new TypeError("Failed to fetch"));
    await expect(createClient("k", impl).me()).rejects.toMatchObject({ status: 0 });
  });
});
