// Settings forms to API bodies (and back), checked before sending so a mistake is named beside its field. No I/O.
import type { Budget, BudgetInput, KeyInput, PolicyInput, PolicyKind, WebhookEvent, WebhookInput } from "./api";

export type Checked<T> = { ok: true; value: T } | { ok: false; field: string; message: string };
const fail = <T>(field: string, message: string): Checked<T> => ({ ok: false, field, message });

const AMOUNT = /^\d{1,10}(\.\d{1,9})?$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const list = (text: string) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

export interface BudgetForm {
  name: string;
  scope: string;
  amount: string;
  currency: string;
  period: "monthly" | "custom";
  start: string;
  end: string;
}

export const EMPTY_BUDGET: BudgetForm = { name: "", scope: "total", amount: "", currency: "USD", period: "monthly", start: "", end: "" };

export function budgetForm(budget: Budget): BudgetForm {
  return {
    name: budget.name,
    scope: budget.scope,
    amount: budget.amount.includes(".") ? budget.amount.replace(/0+$/, "").replace(/\.$/, "") : budget.amount,
    currency: budget.currency,
    period: budget.period,
    start: budget.start ?? "",
    end: budget.end ?? "",
  };
}

/** The scopes POST /v1/budgets takes (outlay/budgets.py). */
export const SCOPE_PATTERN = /^(total|billing_account_id=.+|service=.+|tag:[^=]+=.+)$/;

export function budgetInput(form: BudgetForm, thresholds?: Budget["thresholds"]): Checked<BudgetInput> {
  const name = form.name.trim();
  if (!name) return fail("name", "Give the budget a name.");
  const scope = form.scope.trim();
  if (!SCOPE_PATTERN.test(scope)) return fail("scope", "Use total, service=NAME, billing_account_id=ID or tag:KEY=VALUE.");
  const amount = form.amount.trim();
  if (!AMOUNT.test(amount) || Number(amount) <= 0) return fail("amount", "An amount above 0, like 5000 or 1250.50.");
  const currency = form.currency.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) return fail("currency", "A three-letter currency code, like USD.");
  const body: BudgetInput = { name, scope, amount, currency, period: form.period };
  if (form.period === "custom") {
    if (!DAY.test(form.start)) return fail("start", "The first day, as YYYY-MM-DD.");
    if (!DAY.test(form.end)) return fail("end", "The last day, as YYYY-MM-DD.");
    if (form.end < form.start) return fail("end", "The last day comes on or after the first.");
    body.start = form.start;
    body.end = form.end;
  }
  if (thresholds) body.thresholds = thresholds;
  return { ok: true, value: body };
}

export const POLICY_KINDS: { kind: PolicyKind; label: string; fields: { name: string; label: string; help: string }[] }[] = [
  { kind: "required_tags", label: "Required tags", fields: [{ name: "keys", label: "Tag keys", help: "Comma-separated, e.g. team, project" }] },
  {
    kind: "allowed_instance_families",
    label: "Allowed instance families",
    fields: [{ name: "families", label: "Families", help: "Comma-separated, e.g. m7g, c7g" }],
  },
  {
    kind: "anomaly_impact",
    label: "Anomaly alerting",
    fields: [
      { name: "min_impact", label: "Minimum impact", help: "An amount; smaller anomalies are recorded, not alerted" },
      { name: "min_impact_pct", label: "Minimum impact %", help: "Of the expected cost" },
      { name: "sensitivity", label: "Sensitivity", help: "low, medium or high" },
    ],
  },
  {
    kind: "budget_ceiling",
    label: "Budget ceiling",
    fields: [
      { name: "max_amount", label: "Largest budget", help: "No budget may allow more per period" },
      { name: "currency", label: "Currency", help: "USD unless set" },
    ],
  },
  {
    kind: "auto_apply",
    label: "Auto-apply",
    fields: [
      { name: "max_risk", label: "Highest risk", help: "low, medium or high" },
      { name: "max_monthly_saving", label: "Largest monthly saving", help: "Larger plans need a person; empty: any" },
      { name: "kinds", label: "Change kinds", help: "Comma-separated, e.g. delete_volume; empty: every kind" },
    ],
  },
];

/** A policy body from the form of its kind (outlay/policies.py's rules). */
export function policyInput(name: string, kind: PolicyKind, fields: Record<string, string>, enabled = true): Checked<PolicyInput> {
  const trimmed = name.trim();
  if (!trimmed) return fail("name", "Give the policy a name.");
  const get = (field: string) => (fields[field] ?? "").trim();
  const level = (field: string, value: string) =>
    ["low", "medium", "high"].includes(value) ? null : fail<PolicyInput>(field, "One of low, medium, high.");
  const rule: PolicyInput["rule"] = { kind };
  switch (kind) {
    case "required_tags": {
      const keys = list(get("keys"));
      if (!keys.length) return fail("keys", "At least one tag key.");
      rule["keys"] = keys;
      break;
    }
    case "allowed_instance_families": {
      const families = list(get("families"));
      const bad = families.find((f) => !/^[a-z][a-z0-9-]{0,15}$/.test(f));
      if (!families.length || bad) return fail("families", bad ? `Not a family (like m7g): ${bad}` : "At least one family.");
      rule["families"] = families;
      break;
    }
    case "anomaly_impact": {
      const [amount, pct, sensitivity] = [get("min_impact"), get("min_impact_pct"), get("sensitivity")];
      if (!amount && !pct && !sensitivity) return fail("min_impact", "Set at least one of the three.");
      if (amount && !AMOUNT.test(amount)) return fail("min_impact", "An amount, like 50.");
      if (pct && !/^\d{1,4}(\.\d{1,3})?$/.test(pct)) return fail("min_impact_pct", "A percentage, like 20.");
      if (sensitivity) {
        const wrong = level("sensitivity", sensitivity);
        if (wrong) return wrong;
        rule["sensitivity"] = sensitivity;
      }
      if (amount) rule["min_impact"] = amount;
      if (pct) rule["min_impact_pct"] = pct;
      break;
    }
    case "budget_ceiling": {
      const amount = get("max_amount");
      if (!AMOUNT.test(amount) || Number(amount) <= 0) return fail("max_amount", "An amount above 0.");
      rule["max_amount"] = amount;
      const currency = get("currency").toUpperCase();
      if (currency) {
        if (!/^[A-Z]{3}$/.test(currency)) return fail("currency", "A three-letter currency code.");
        rule["currency"] = currency;
      }
      break;
    }
    case "auto_apply": {
      const risk = get("max_risk") || "low";
      const wrong = level("max_risk", risk);
      if (wrong) return wrong;
      rule["max_risk"] = risk;
      const saving = get("max_monthly_saving");
      if (saving) {
        if (!AMOUNT.test(saving)) return fail("max_monthly_saving", "An amount, like 500.");
        rule["max_monthly_saving"] = saving;
      }
      rule["kinds"] = list(get("kinds"));
      break;
    }
  }
  return { ok: true, value: { name: trimmed, rule, enabled } };
}

/** A policy's rule as its kind's form fields (the inverse of `policyInput`): lists comma-separated. */
export function policyFields(rule: Record<string, unknown>): Record<string, string> {
  const spec = POLICY_KINDS.find((k) => k.kind === rule["kind"]);
  const fields: Record<string, string> = {};
  for (const { name } of spec?.fields ?? []) {
    const value = rule[name];
    if (Array.isArray(value)) fields[name] = value.map(String).join(", ");
    else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") fields[name] = String(value);
  }
  return fields;
}

/** A rule in words: "keys: team, project". */
export function describeRule(rule: Record<string, unknown>): string {
  return Object.entries(rule)
    .filter(([k, v]) => k !== "kind" && v !== null && v !== undefined && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `${k.replace(/_/g, " ")}: ${Array.isArray(v) ? v.join(", ") : String(v as string | number | boolean)}`)
    .join("; ");
}

export const WEBHOOK_EVENTS: WebhookEvent[] = ["anomaly", "budget_alert", "plan", "policy_violation"];

export function webhookInput(url: string, events: WebhookEvent[], format: WebhookInput["format"], description: string): Checked<WebhookInput> {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return fail("url", "A full URL, like https://hooks.example.com/outlay.");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return fail("url", "An http or https URL.");
  if (!events.length) return fail("events", "Choose at least one event.");
  return { ok: true, value: { url: url.trim(), events, format, description: description.trim() } };
}

/** A key body: a role's scopes, or the scopes ticked; an expiry day turns into that day's end, UTC. */
export function keyInput(form: { name: string; role: string; scopes: string[]; userId: string; expires: string }, today: string): Checked<KeyInput> {
  const name = form.name.trim();
  if (!name) return fail("name", "Say what the key is for, e.g. ci pipeline.");
  const body: KeyInput = { name };
  if (form.userId) body.user_id = form.userId;
  if (form.role) body.role = form.role;
  else if (form.scopes.length) body.scopes = form.scopes;
  else if (!form.userId) return fail("role", "Choose a role or at least one scope.");
  if (form.expires) {
    if (!DAY.test(form.expires)) return fail("expires", "A day, as YYYY-MM-DD.");
    if (form.expires < today) return fail("expires", "A day from today on.");
    body.expires_at = `${form.expires}T23:59:59Z`;
  }
  return { ok: true, value: body };
}

/** "active", "revoked", "expired" at `now`. */
export function keyState(key: { revoked_at: string | null; expires_at: string | null }, now: Date): "active" | "revoked" | "expired" {
  if (key.revoked_at) return "revoked";
  if (key.expires_at && Date.parse(key.expires_at) <= now.getTime()) return "expired";
  return "active";
}
