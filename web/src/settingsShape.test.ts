import { describe, expect, it } from "vitest";
import { budgetForm, budgetInput, describeRule, EMPTY_BUDGET, keyInput, keyState, policyFields, policyInput, webhookInput } from "./settingsShape";

describe("budgetInput", () => {
  const form = { ...EMPTY_BUDGET, name: " web team ", scope: "tag:team=web", amount: "5000", currency: "usd" };
  it("builds the body POST /v1/budgets takes", () => {
    expect(budgetInput(form)).toEqual({ ok: true, value: { name: "web team", scope: "tag:team=web", amount: "5000", currency: "USD", period: "monthly" } });
  });
  it("names the field at fault", () => {
    expect(budgetInput({ ...form, name: " " })).toMatchObject({ ok: false, field: "name" });
    expect(budgetInput({ ...form, scope: "team=web" })).toMatchObject({ ok: false, field: "scope" });
    expect(budgetInput({ ...form, amount: "0" })).toMatchObject({ ok: false, field: "amount" });
    expect(budgetInput({ ...form, amount: "1e5" })).toMatchObject({ ok: false, field: "amount" });
    expect(budgetInput({ ...form, currency: "dollars" })).toMatchObject({ ok: false, field: "currency" });
  });
  it("needs both days of a custom period, in order", () => {
    expect(budgetInput({ ...form, period: "custom", start: "2026-12-01", end: "" })).toMatchObject({ ok: false, field: "end" });
    expect(budgetInput({ ...form, period: "custom", start: "2026-12-10", end: "2026-12-01" })).toMatchObject({ ok: false, field: "end" });
    expect(budgetInput({ ...form, period: "custom", start: "2026-12-01", end: "2026-12-31" })).toMatchObject({
      ok: true,
      value: { period: "custom", start: "2026-12-01", end: "2026-12-31" },
    });
  });
  it("keeps a budget's thresholds when it is edited, and shows its amount plainly", () => {
    const thresholds = [{ basis: "actual" as const, percent: "80" }];
    expect(budgetInput(form, thresholds)).toMatchObject({ ok: true, value: { thresholds } });
    const budget = { budget_id: "b1", name: "x", scope: "total", amount: "5000.500000000", currency: "USD", period: "monthly" as const };
    expect(budgetForm(budget).amount).toBe("5000.5");
    expect(budgetForm({ ...budget, amount: "5000.000000000" }).amount).toBe("5000");
  });
});

describe("policyInput", () => {
  it("builds each kind's rule", () => {
    expect(policyInput("tags", "required_tags", { keys: "team, project" })).toEqual({
      ok: true,
      value: { name: "tags", enabled: true, rule: { kind: "required_tags", keys: ["team", "project"] } },
    });
    expect(policyInput("c", "budget_ceiling", { max_amount: "5000", currency: "eur" })).toMatchObject({
      ok: true,
      value: { rule: { kind: "budget_ceiling", max_amount: "5000", currency: "EUR" } },
    });
    expect(policyInput("a", "auto_apply", { max_risk: "medium", kinds: "delete_volume" })).toMatchObject({
      ok: true,
      value: { rule: { kind: "auto_apply", max_risk: "medium", kinds: ["delete_volume"] } },
    });
    expect(policyInput("i", "anomaly_impact", { sensitivity: "low" })).toMatchObject({ ok: true, value: { rule: { kind: "anomaly_impact", sensitivity: "low" } } });
  });
  it("refuses what the API would refuse, naming the field", () => {
    expect(policyInput("", "required_tags", { keys: "a" })).toMatchObject({ ok: false, field: "name" });
    expect(policyInput("t", "required_tags", { keys: " , " })).toMatchObject({ ok: false, field: "keys" });
    expect(policyInput("f", "allowed_instance_families", { families: "m7g, M5.large" })).toMatchObject({ ok: false, field: "families" });
    expect(policyInput("i", "anomaly_impact", {})).toMatchObject({ ok: false, field: "min_impact" });
    expect(policyInput("i", "anomaly_impact", { sensitivity: "extreme" })).toMatchObject({ ok: false, field: "sensitivity" });
    expect(policyInput("a", "auto_apply", { max_risk: "huge" })).toMatchObject({ ok: false, field: "max_risk" });
  });
  it("describes a rule in words", () => {
    expect(describeRule({ kind: "auto_apply", max_risk: "low", max_monthly_saving: null, kinds: [] })).toBe("max risk: low");
    expect(describeRule({ kind: "required_tags", keys: ["team", "env"] })).toBe("keys: team, env");
  });
});

describe("webhookInput", () => {
  it("wants an http(s) URL and an event", () => {
    expect(webhookInput(" https://hooks.example.com/x ", ["anomaly"], "slack", "")).toEqual({
      ok: true,
      value: { url: "https://hooks.example.com/x", events: ["anomaly"], format: "slack", description: "" },
    });
    expect(webhookInput("hooks.example.com", ["anomaly"], "outlay", "")).toMatchObject({ ok: false, field: "url" });
    expect(webhookInput("ftp://x.example", ["anomaly"], "outlay", "")).toMatchObject({ ok: false, field: "url" });
    expect(webhookInput("https://x.example", [], "outlay", "")).toMatchObject({ ok: false, field: "events" });
  });
});

describe("keyInput and keyState", () => {
  const base = { name: "ci", role: "", scopes: [] as string[], userId: "", expires: "" };
  it("takes a role, else scopes, and a person's key may take neither", () => {
    expect(keyInput({ ...base, role: "viewer", scopes: ["admin"] }, "2026-11-30")).toEqual({ ok: true, value: { name: "ci", role: "viewer" } });
    expect(keyInput({ ...base, scopes: ["read:costs"] }, "2026-11-30")).toEqual({ ok: true, value: { name: "ci", scopes: ["read:costs"] } });
    expect(keyInput(base, "2026-11-30")).toMatchObject({ ok: false, field: "role" });
    expect(keyInput({ ...base, userId: "u1" }, "2026-11-30")).toEqual({ ok: true, value: { name: "ci", user_id: "u1" } });
  });
  it("ends an expiry day at its last second, and refuses a past day", () => {
    expect(keyInput({ ...base, role: "viewer", expires: "2027-06-30" }, "2026-11-30")).toMatchObject({ ok: true, value: { expires_at: "2027-06-30T23:59:59Z" } });
    expect(keyInput({ ...base, role: "viewer", expires: "2026-11-01" }, "2026-11-30")).toMatchObject({ ok: false, field: "expires" });
  });
  it("tells active, revoked and expired keys apart", () => {
    const now = new Date("2026-11-30T12:00:00Z");
    expect(keyState({ revoked_at: null, expires_at: null }, now)).toBe("active");
    expect(keyState({ revoked_at: "2026-11-01T00:00:00Z", expires_at: null }, now)).toBe("revoked");
    expect(keyState({ revoked_at: null, expires_at: "2026-11-30T11:59:59Z" }, now)).toBe("expired");
  });
});

describe("policyFields", () => {
  it("fills a policy's form from its rule, and the form gives the rule back", () => {
    const rule = { kind: "auto_apply" as const, max_risk: "medium", max_monthly_saving: "500", kinds: ["delete_volume", "rightsize"] };
    const fields = policyFields(rule);
    expect(fields).toEqual({ max_risk: "medium", max_monthly_saving: "500", kinds: "delete_volume, rightsize" });
    expect(policyInput("auto", "auto_apply", fields, false)).toEqual({ ok: true, value: { name: "auto", enabled: false, rule } });
  });
  it("leaves out what the rule does not set, and fields of no known kind", () => {
    expect(policyFields({ kind: "anomaly_impact", min_impact: "50", min_impact_pct: null })).toEqual({ min_impact: "50" });
    expect(policyFields({ kind: "unknown", keys: ["a"] })).toEqual({});
  });
});
