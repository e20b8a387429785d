import { describe, expect, it, vi } from "vitest";
import { ApiError, authHeaders, createClient, CSRF_HEADER, sessionStatus, setPassword, signIn, signOut } from "./api";
import { MIN_PASSWORD, needsOrganisation, newPasswordProblem, setPasswordToken, signInChoice, signInFailure } from "./session";
import { streamUrl } from "./stream";

function reply(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function recording(...responses: Response[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const impl = vi.fn((url: string, init?: RequestInit): Promise<Response> => {
    calls.push({ url, init: init ?? {} });
    const next = responses.shift();
    return next ? Promise.resolve(next) : Promise.reject(new Error("no response left"));
  });
  return { impl: impl as unknown as typeof fetch, calls };
}

const headersOf = (init: RequestInit) => init.headers as Record<string, string>;

describe("signInChoice", () => {
  const blank = { email: "", password: "", apiKey: "" };
  it("takes a key alone, trimmed", () => {
    expect(signInChoice({ ...blank, apiKey: "  olk_abc  " })).toEqual({ kind: "key", apiKey: "olk_abc" });
  });
  it("takes an e-mail and a password, with the organisation when asked", () => {
    expect(signInChoice({ ...blank, email: " ann@acme.test ", password: " pass word " })).toEqual({ kind: "password", email: "ann@acme.test", password: " pass word " });
    expect(signInChoice({ ...blank, email: "ann@acme.test", password: "p", organisation: " acme " })).toEqual({
      kind: "password",
      email: "ann@acme.test",
      password: "p",
      tenantId: "acme",
    });
  });
  it("says which field to fix", () => {
    expect(signInChoice(blank)).toMatchObject({ kind: "invalid", field: "email", message: "Enter your e-mail and password, or an API key." });
    expect(signInChoice({ ...blank, password: "x" })).toMatchObject({ kind: "invalid", field: "email", message: "Enter your e-mail." });
    expect(signInChoice({ ...blank, email: "ann", password: "x" })).toMatchObject({ kind: "invalid", field: "email" });
    expect(signInChoice({ ...blank, email: "ann@acme.test" })).toMatchObject({ kind: "invalid", field: "password", message: "Enter your password." });
    expect(signInChoice({ ...blank, email: "ann@acme.test", apiKey: "k" })).toMatchObject({ kind: "invalid", field: "api-key" });
  });
});

describe("passwords and links", () => {
  it("checks a new password as the gateway does, and that both copies match", () => {
    expect(newPasswordProblem("x".repeat(MIN_PASSWORD - 1), "x".repeat(MIN_PASSWORD - 1))).toBe(`Use at least ${MIN_PASSWORD} characters.`);
    expect(newPasswordProblem(" ".repeat(MIN_PASSWORD), " ".repeat(MIN_PASSWORD))).toBe("Use more than spaces.");
    expect(newPasswordProblem("a long passphrase", "a long passphrasE")).toBe("The two passwords differ.");
    expect(newPasswordProblem("a long passphrase", "a long passphrase")).toBeNull();
  });
  it("reads the token of a set-password link, and nothing else", () => {
    expect(setPasswordToken("#set-password=olp_AbC-123_xyzXYZ")).toBe("olp_AbC-123_xyzXYZ");
    expect(setPasswordToken("#/set-password=olp_AbC-123_xyzXYZ")).toBe("olp_AbC-123_xyzXYZ");
    expect(setPasswordToken("#/finance")).toBeNull();
    expect(setPasswordToken("#set-password=<script>")).toBeNull();
    expect(setPasswordToken("")).toBeNull();
  });
  it("words failures for people", () => {
    expect(signInFailure(new ApiError(401, "email or password is wrong"))).toBe("The e-mail or password is wrong.");
    expect(signInFailure(new ApiError(429, "too many failed sign-ins for this e-mail from this address: try again in 900 s"))).toBe(
      "Too many failed sign-ins: try again in 900 s.",
    );
    const several = new ApiError(422, "tenant_id: this e-mail and password sign in to several organisations (acme, globex)");
    expect(needsOrganisation(several)).toBe(true);
    expect(needsOrganisation(new ApiError(422, "password: too short"))).toBe(false);
    expect(signInFailure(several)).toMatch(/several organisations/);
  });
});

describe("the session's requests", () => {
  it("a key client sends the bearer token and no CSRF header; a session client the reverse", () => {
    expect(authHeaders("k", false)).toEqual({ Accept: "application/json", Authorization: "Bearer k" });
    expect(authHeaders(null, true)).toEqual({ Accept: "application/json", [CSRF_HEADER]: "1", "Content-Type": "application/json" });
  });

  it("signs in with the e-mail and password (and the organisation when named), same origin, CSRF header", async () => {
    const info = { signed_in: true, user_id: "u1", role: "viewer" };
    const { impl, calls } = recording(reply(200, info), reply(200, info));
    expect(await signIn("ann@acme.test", "pass phrase x", undefined, impl)).toEqual(info);
    await signIn("ann@acme.test", "pass phrase x", "acme", impl);
    expect(calls[0]?.url).toBe("/v1/session");
    expect(calls[0]?.init.method).toBe("POST");
    expect(calls[0]?.init.credentials).toBe("same-origin");
    expect(headersOf(calls[0]!.init)[CSRF_HEADER]).toBe("1");
    expect(headersOf(calls[0]!.init)["Authorization"]).toBeUndefined();
    expect(JSON.parse(calls[0]?.init.body as string)).toEqual({ email: "ann@acme.test", password: "pass phrase x" });
    expect(JSON.parse(calls[1]?.init.body as string)).toEqual({ email: "ann@acme.test", password: "pass phrase x", tenant_id: "acme" });
  });

  it("turns a refused sign-in into an ApiError with the gateway's words", async () => {
    const { impl } = recording(reply(401, { detail: "email or password is wrong" }));
    await expect(signIn("a@b.c", "x", undefined, impl)).rejects.toMatchObject({ status: 401, message: "email or password is wrong" });
  });

  it("asks whether it is signed in, signs out, and sets a password", async () => {
    const { impl, calls } = recording(reply(200, { signed_in: false }), new Response(null, { status: 204 }), reply(200, { email: "a@b.c", tenant_id: "default", user_id: "u" }));
    expect((await sessionStatus(impl)).signed_in).toBe(false);
    expect(await signOut(impl)).toBeUndefined();
    expect((await setPassword("olp_t", "a long passphrase", impl)).email).toBe("a@b.c");
    expect(calls.map((c) => [c.init.method, c.url])).toEqual([
      ["GET", "/v1/session"],
      ["DELETE", "/v1/session"],
      ["POST", "/v1/session/password"],
    ]);
    expect(headersOf(calls[1]!.init)[CSRF_HEADER]).toBe("1");
  });

  it("a session client sends the CSRF header on changes and no key", async () => {
    const { impl, calls } = recording(reply(200, { plan_id: "p" }), reply(201, { token: "olp_x" }));
    await createClient(null, impl).decidePlan("p", "approve");
    await createClient(null, impl).issuePasswordToken("u/1");
    expect(headersOf(calls[0]!.init)[CSRF_HEADER]).toBe("1");
    expect(headersOf(calls[0]!.init)["Authorization"]).toBeUndefined();
    expect(calls[1]?.url).toBe("/v1/users/u%2F1/password-token");
  });

  it("the stream takes the cookie: no key in the address", () => {
    expect(streamUrl({ protocol: "https:", host: "outlay.example" }, null)).toBe("wss://outlay.example/v1/stream");
    expect(streamUrl({ protocol: "http:", host: "127.0.0.1:8000" }, "k")).toBe("ws://127.0.0.1:8000/v1/stream?api_key=k");
  });
});
