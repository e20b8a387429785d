import { describe, expect, it, vi } from "vitest";
import { ApiError, createClient, queryString } from "./api";

function reply(status: number, body: unknown, statusText = ""): Response {
  return new Response(JSON.stringify(body), { status, statusText, headers: { "Content-Type": "application/json" } });
}

function mockFetch(...responses: (Response | Error)[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const impl = vi.fn((url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    calls.push({ url: url instanceof Request ? url.url : url.toString(), init: init ?? {} });
    const next = responses.shift();
    if (!next) return Promise.reject(new Error("no response left"));
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(next);
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

  it("lists the newest IaC estimates, of one repository when asked", async () => {
    const estimate = { estimate_id: "e1", repository: "acme/infra", pull_request: 7, monthly_delta: "248.38", verdict: "failed" };
    const { impl, calls } = mockFetch(reply(200, { estimates: [estimate], next_cursor: null }), reply(200, { estimates: [], next_cursor: null }));
    const client = createClient("k", impl);
    expect((await client.iacEstimates()).estimates).toEqual([estimate]);
    expect(calls[0]?.url).toBe("/v1/iac/estimates?limit=20");
    await client.iacEstimates("acme/infra", 5);
    expect(calls[1]?.url).toBe("/v1/iac/estimates?repository=acme%2Finfra&limit=5");
    expect(calls[1]?.init.method).toBe("GET");
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

  it("puts dimension and tag filters in the costs query", async () => {
    const { impl, calls } = mockFetch(reply(200, { rows: [] }));
    await createClient("k", impl).costs({
      start: "2026-11-30T17:00:00Z",
      end: "2026-11-30T18:00:00Z",
      granularity: "minute",
      group_by: ["tag:team"],
      filters: { service: ["AWS Lambda", "Amazon S3"] },
      tag: ["env:prod"],
    });
    expect(calls[0]?.url).toBe(
      "/v1/costs?granularity=minute&start=2026-11-30T17%3A00%3A00Z&end=2026-11-30T18%3A00%3A00Z&group_by=tag%3Ateam&tag=env%3Aprod&service=AWS+Lambda&service=Amazon+S3",
    );
  });

  it("takes an empty 204 or 202 answer as done", async () => {
    const { impl, calls } = mockFetch(new Response(null, { status: 204 }), new Response(null, { status: 202 }));
    const client = createClient("k", impl);
    await expect(client.revokeKey("abc")).resolves.toBeUndefined();
    await expect(client.pingWebhook("w/1")).resolves.toBeUndefined();
    expect(calls.map((c) => [c.init.method, c.url])).toEqual([
      ["DELETE", "/v1/keys/abc"],
      ["POST", "/v1/webhooks/w%2F1/ping"],
    ]);
  });

  it("asks for a plan's approval and decides it on the plan's routes", async () => {
    const { impl, calls } = mockFetch(reply(200, { plan_id: "p1" }), reply(202, { plan_id: "p1", decision: "approve" }));
    const client = createClient("k", impl);
    await client.requestApproval("p1");
    await client.decidePlan("p1", "approve", "agreed");
    expect(calls.map((c) => [c.init.method, c.url, c.init.body])).toEqual([
      ["POST", "/v1/plans/p1/request-approval", '{"comment":""}'],
      ["POST", "/v1/plans/p1/approve", '{"comment":"agreed"}'],
    ]);
  });

  it("makes a key and reads its secret from the answer", async () => {
    const { impl, calls } = mockFetch(reply(201, { key_id: "k2", name: "ci", key: "olk_secret" }));
    const made = await createClient("k", impl).createKey({ name: "ci", role: "viewer" });
    expect(made.key).toBe("olk_secret");
    expect(calls[0]?.init.body).toBe('{"name":"ci","role":"viewer"}');
  });

  it("changes a member with PATCH, a policy and a budget with PUT", async () => {
    const { impl, calls } = mockFetch(reply(200, {}), reply(200, {}), reply(200, {}));
    const client = createClient("k", impl);
    await client.updateUser("u1", { disabled: true });
    await client.replacePolicy("p1", { name: "n", rule: { kind: "required_tags", keys: ["team"] }, enabled: false });
    await client.updateBudget("b/1", { name: "n", scope: "total", amount: "10", currency: "USD", period: "monthly", thresholds: [] });
    expect(calls.map((c) => [c.init.method, c.url])).toEqual([
      ["PATCH", "/v1/users/u1"],
      ["PUT", "/v1/policies/p1"],
      ["PUT", "/v1/budgets/b%2F1"],
    ]);
  });
});

