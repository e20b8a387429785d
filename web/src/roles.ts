// What the signed-in key may do, from its scopes (GET /v1/me): the same rules as the gateway's
// services/gateway/permissions.py, so a control the key cannot use is disabled with the reason instead of failing.
import { ApiError, type Me, type Plan } from "./api";

export type Scope =
  | "read:costs"
  | "read:anomalies"
  | "write:anomalies"
  | "read:forecasts"
  | "read:budgets"
  | "write:budgets"
  | "read:plans"
  | "request:plans"
  | "approve:plans"
  | "read:policies"
  | "write:policies"
  | "write:webhooks"
  | "write:metrics"
  | "write:estimates"
  | "write:deployments"
  | "admin";

const READS: Scope[] = ["read:costs", "read:anomalies", "read:forecasts", "read:budgets", "read:plans", "read:policies"];

/** The roles people get (POST /v1/users, POST /v1/keys with `role`), as sets of scopes. */
export const ROLES: Record<string, Scope[]> = {
  viewer: READS,
  engineer: [...READS, "write:anomalies", "request:plans", "write:estimates", "write:deployments"],
  finance: [...READS, "write:budgets"],
  approver: [...READS, "approve:plans"],
  admin: ["admin"],
};

export const ROLE_NAMES = Object.keys(ROLES);

export const ALL_SCOPES: Scope[] = [
  ...READS,
  "write:anomalies",
  "write:budgets",
  "request:plans",
  "approve:plans",
  "write:policies",
  "write:webhooks",
  "write:metrics",
  "write:estimates",
  "write:deployments",
  "admin",
];

/** `admin` grants everything. */
export function may(scopes: readonly string[] | undefined, scope: Scope): boolean {
  return scopes !== undefined && (scopes.includes("admin") || scopes.includes(scope));
}

/** Why a control is off for these scopes, or null when it is allowed. Unknown scopes (still loading) deny. */
export function lacks(scopes: readonly string[] | undefined, scope: Scope): string | null {
  if (scopes === undefined) return "Checking what this key may do…";
  return may(scopes, scope) ? null : `Needs the ${scope} scope, which this key does not have.`;
}

/** "Not allowed: …" for a 403 answer, else null. */
export function forbidden(error: unknown): string | null {
  return error instanceof ApiError && error.status === 403 ? `Not allowed: ${error.message}` : null;
}

/** How the gateway names this caller in a plan's `requested_by` (services/gateway/permissions.py identity). */
export function identityOf(me: Pick<Me, "user_id" | "key_id">): string {
  return me.user_id ? `user:${me.user_id}` : `key:${me.key_id}`;
}

/** The operator's key (OUTLAY_API_KEY) may decide plans alone: `/v1/me` says so (older gateways: its id is "operator"). */
export function isOperator(me: Pick<Me, "key_id" | "scopes" | "operator">): boolean {
  if (me.operator !== undefined) return me.operator;
  return me.key_id === "operator" && me.scopes.includes("admin");
}

export interface PlanActions {
  /** null: allowed; else why not. */
  requestApproval: string | null;
  approve: string | null;
  reject: string | null;
}

/** Which decisions this caller may take on a plan, by the gateway's approval rules (routes/plans.py): a person
 * asks, another person approves; the operator's key may decide alone. The gateway still checks (a key made by
 * the asker is refused there too, which the client cannot see): its 403 is shown as it comes. */
export function planActions(me: Me | undefined, plan: Pick<Plan, "status" | "requested_by">): PlanActions {
  if (!me) {
    const wait = "Checking what this key may do…";
    return { requestApproval: wait, approve: wait, reject: wait };
  }
  const notOpen = plan.status === "proposed" ? null : `The plan is ${plan.status.replace("_", " ")}: only a proposed plan can be decided.`;
  const operator = isOperator(me);
  const askers = (plan.requested_by ?? "").split(",").filter(Boolean);
  const person = me.user_id !== null;

  let requestApproval = notOpen ?? lacks(me.scopes, "request:plans");
  if (!requestApproval && !person) requestApproval = "Approvals are asked for by people: use a key of your own (Settings → API keys).";
  if (!requestApproval && askers.length) requestApproval = "Approval was already asked for.";

  let decide = notOpen ?? lacks(me.scopes, "approve:plans");
  if (!decide && !person && !operator) decide = "Plans are decided by people: use a key of your own (Settings → API keys).";
  const reject = decide;
  let approve = decide;
  if (!approve && !askers.length && !operator) approve = "Nobody has asked for its approval yet: someone asks first.";
  if (!approve && askers.includes(identityOf(me))) approve = "You asked for this approval: another approver must decide.";
  return { requestApproval, approve, reject };
}
