import { describe, expect, it } from "vitest";
import { ApiError, type Me } from "./api";
import { forbidden, identityOf, isOperator, lacks, may, planActions, ROLES } from "./roles";

const me = (scopes: string[], user_id: string | null = "u1", key_id = "k1"): Me => ({ tenant_id: "default", key_id, name: "n", user_id, scopes });
const proposed = { status: "proposed" as const, requested_by: null };

describe("scopes", () => {
  it("grants a scope held or admin, nothing while unknown", () => {
    expect(may(["read:costs"], "read:costs")).toBe(true);
    expect(may(["read:costs"], "write:budgets")).toBe(false);
    expect(may(["admin"], "write:budgets")).toBe(true);
    expect(may(undefined, "read:costs")).toBe(false);
  });
  it("says which scope is missing", () => {
    expect(lacks(ROLES["viewer"], "write:budgets")).toMatch(/^Needs the write:budgets scope/);
    expect(lacks(ROLES["finance"], "write:budgets")).toBeNull();
    expect(lacks(undefined, "read:costs")).toMatch(/Checking/);
  });
  it("names a 403 and only a 403", () => {
    expect(forbidden(new ApiError(403, "needs approve:plans"))).toBe("Not allowed: needs approve:plans");
    expect(forbidden(new ApiError(409, "no longer proposed"))).toBeNull();
    expect(forbidden(new Error("x"))).toBeNull();
  });
  it("names the caller as the gateway does", () => {
    expect(identityOf(me([], "u9"))).toBe("user:u9");
    expect(identityOf(me([], null, "abc"))).toBe("key:abc");
  });
});

describe("isOperator", () => {
  const base = { key_id: "operator", scopes: ["admin"] };
  it("believes /v1/me's operator field over the key's id", () => {
    expect(isOperator({ ...base, operator: false })).toBe(false);
    expect(isOperator({ key_id: "k1", scopes: ["admin"], operator: true })).toBe(true);
  });
  it("falls back to the operator key's id on a gateway without the field", () => {
    expect(isOperator(base)).toBe(true);
    expect(isOperator({ key_id: "k1", scopes: ["admin"] })).toBe(false);
  });
});

describe("planActions", () => {
  it("lets an engineer (a person) ask, not decide", () => {
    const a = planActions(me(ROLES["engineer"] ?? []), proposed);
    expect(a.requestApproval).toBeNull();
    expect(a.approve).toMatch(/approve:plans/);
    expect(a.reject).toMatch(/approve:plans/);
  });
  it("lets a viewer do nothing", () => {
    const a = planActions(me(ROLES["viewer"] ?? []), proposed);
    expect([a.requestApproval, a.approve, a.reject].every((r) => r !== null)).toBe(true);
  });
  it("makes an approver wait for someone to ask, and never approve what they asked", () => {
    const approver = me(ROLES["approver"] ?? [], "u2");
    expect(planActions(approver, proposed).approve).toMatch(/Nobody has asked/);
    expect(planActions(approver, proposed).reject).toBeNull();
    expect(planActions(approver, { status: "proposed", requested_by: "key:x,user:u1" }).approve).toBeNull();
    expect(planActions(approver, { status: "proposed", requested_by: "user:u2" }).approve).toMatch(/another approver/);
  });
  it("wants a person's key to ask or decide, except the operator's", () => {
    expect(planActions(me(["admin"], null, "k7"), proposed).requestApproval).toMatch(/people/);
    expect(planActions(me(["admin"], null, "k7"), proposed).approve).toMatch(/people/);
    expect(planActions(me(["admin"], null, "operator"), proposed).approve).toBeNull();
  });
  it("allows nothing on a plan that is no longer proposed, or before the key is known", () => {
    const a = planActions(me(["admin"]), { status: "applied", requested_by: "user:u5" });
    expect(a.approve).toMatch(/applied/);
    expect(a.requestApproval).toMatch(/applied/);
    expect(planActions(undefined, proposed).approve).toMatch(/Checking/);
  });
  it("does not ask twice", () => {
    expect(planActions(me(ROLES["engineer"] ?? []), { status: "proposed", requested_by: "user:u3" }).requestApproval).toMatch(/already/);
  });
});
