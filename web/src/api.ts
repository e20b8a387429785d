// The typed client of Outlay's public API (same origin). Money is an exact decimal string on the wire.

export type Money = string;

export interface CostRow {
  period_start: string;
  group: Record<string, string | null>;
  cost: Money;
}

export interface CostsResponse {
  granularity: string;
  start: string;
  end: string;
  metric: string;
  group_by: string[];
  currency: string | null;
  cost_kind: string | null;
  rows: CostRow[];
  total: Money | null;
  totals: { currency: string; cost_kind: string; cost: Money }[];
}

export interface CostsParams {
  start: string;
  end: string;
  granularity?: "minute" | "hour" | "day";
  group_by?: string[];
  metric?: "billed" | "effective" | "list";
  /** Keep only these values of a dimension (service, region, cost_kind, ...): repeated for OR. */
  filters?: Record<string, string[]>;
  /** Tag filters KEY:VALUE. */
  tag?: string[];
}

export interface Dimensions {
  start: string;
  end: string;
  dimensions: Record<string, string[]>;
  tags: Record<string, string[]>;
  limit: number;
}

export interface ReconciliationRow {
  day: string;
  service: string;
  currency: string;
  estimated: Money;
  billed: Money;
  difference: Money;
  difference_pct: string | null;
}

export interface Reconciliation {
  start: string;
  end: string;
  metric: string;
  rows: ReconciliationRow[];
  totals: { currency: string; estimated: Money; billed: Money; difference: Money; difference_pct: string | null }[];
}

export interface Bounds {
  expected: Money;
  lower80: Money;
  upper80: Money;
  lower95: Money;
  upper95: Money;
}

export interface ForecastTotal extends Omit<Bounds, "expected"> {
  first_day: string;
  last_day: string;
  actual_to_date: Money;
  expected: Money;
}

export interface CostForecast {
  forecast_id: string;
  scope: string;
  currency: string;
  history_end: string;
  model: string;
  short_history: boolean;
  days: (Bounds & { day: string })[];
  next_30_days: ForecastTotal;
  month_end: ForecastTotal;
}

export interface Threshold {
  basis: "actual" | "forecast";
  percent: string | number;
}

export interface BudgetInput {
  name: string;
  scope: string;
  amount: Money;
  currency: string;
  period: "monthly" | "custom";
  start?: string | null;
  end?: string | null;
  thresholds?: Threshold[];
}

export interface Budget extends BudgetInput {
  budget_id: string;
  created_at?: string;
}

export interface BudgetStatus {
  budget_id: string;
  name: string;
  scope: string;
  period_start: string;
  period_end: string;
  currency: string;
  amount: Money;
  actual_to_date: Money;
  forecast_total: Money | null;
  variance: Money | null;
  variance_percent: string | null;
  summary: string;
}

export type Severity = "low" | "medium" | "high" | "critical";
export type Verdict = "true_positive" | "false_positive" | "planned";

export interface Anomaly {
  anomaly_id: string;
  series: string;
  dimensions: Record<string, string>;
  status: "open" | "closed";
  direction: "spike" | "drop";
  start: string;
  end: string | null;
  last_seen: string;
  expected_cost: Money;
  actual_cost: Money;
  impact: Money;
  currency: string;
  score: number;
  severity: Severity;
  root_cause: string[];
  alerted: boolean;
  feedback: Verdict | null;
  feedback_at: string | null;
}

export interface AllocationValue {
  value: string;
  direct: Money;
  shared: Record<string, Money>;
  total: Money;
}

/** GET /v1/allocation: per currency and cost kind (never added), and per bucket; `(unallocated)` always last. */
export interface AllocationReport {
  dimension: string;
  start: string;
  end: string;
  grain: "hour" | "day" | "month";
  metric: string;
  rules_version: number;
  unallocated_value: string;
  totals: {
    currency: string;
    cost_kind: string;
    total: Money;
    allocated: Money;
    unallocated: Money;
    allocated_share: number | null;
    values: AllocationValue[];
  }[];
  buckets: { period_start: string; currency: string; cost_kind: string; total: Money; values: AllocationValue[] }[];
}

/** GET /v1/allocation/rules: version 0 (and no dimensions) when the tenant has no rules. */
export interface AllocationRules {
  version: number;
  rules: { dimensions?: Record<string, unknown> } & Record<string, unknown>;
  created_by?: string | null;
  created_at?: string | null;
}

export interface UnitCostCell {
  period_start: string;
  cost: Money;
  driver: string | null;
  unit_cost: Money | null;
  revenue: Money | null;
  gross_margin: Money | null;
  gross_margin_pct: string | null;
}

export interface UnitCostAnomaly {
  period_start: string;
  unit_cost: Money;
  expected_unit_cost: Money;
  likelihood: number;
  direction: "spike" | "drop";
  severity: Severity;
}

export interface UnitCostLine {
  kind: "group" | "unallocated" | "total";
  group: string | null;
  currency: string;
  cost: Money;
  driver: string | null;
  unit_cost: Money | null;
  periods_without_driver: number;
  /** The part of `cost` split to this line from shared cost (shared=by_usage); absent from older gateways. */
  shared_cost?: Money | null;
  revenue: Money | null;
  gross_margin: Money | null;
  gross_margin_pct: string | null;
  trend: { points: number; slope_per_period: number; first_half_mean: number; second_half_mean: number; change_pct: number | null } | null;
  anomalies: UnitCostAnomaly[];
  periods: UnitCostCell[];
}

export type UnitBy = "customer" | "feature" | "none";

export interface UnitCostsParams {
  metric?: string;
  per?: string;
  by?: UnitBy;
  start?: string;
  end?: string;
  grain?: "day" | "hour";
  /** keep (default): shared cost on its own line; by_usage: split over the groups by their figure of the metric. */
  shared?: "keep" | "by_usage";
}

/** GET /v1/unit-costs */
export interface UnitCosts {
  metric: string;
  per: string;
  by: UnitBy;
  grain: "day" | "hour";
  start: string;
  end: string;
  cost_metric: string;
  cost_basis: string;
  lines: UnitCostLine[];
  notes: string[];
}

/** GET /v1/unit-economics/correlation */
export interface Correlation {
  driver: string;
  start: string;
  end: string;
  currency: string | null;
  cost_metric: string;
  cost_basis: string;
  days: number;
  pearson: number | null;
  elasticity: number | null;
  elasticity_days: number;
  fit: { intercept: Money | null; slope: number | null; r_squared: number | null } | null;
  fixed_cost_per_day: Money | null;
  fixed_share: number | null;
  mean_daily_cost: Money | null;
  explanation: string;
  points: { day: string; cost: Money; driver: string }[];
  other_currencies: string[];
}

export type PlanStatus =
  | "proposed"
  | "approved"
  | "applying"
  | "applied"
  | "rolled_back"
  | "failed"
  | "rejected"
  | "superseded"
  | "expired";

export interface Recommendation {
  recommendation_id: string;
  region: string;
  kind: string;
  resource_id: string;
  summary: string;
  monthly_saving: Money;
  confidence: number;
  risk: string;
  current: string | null;
  proposed: string | null;
  evidence: Record<string, unknown>;
  plan_id: string | null;
  found_at: string;
}

export interface Recommendations {
  recommendations: Recommendation[];
  total_monthly_saving: Money;
  currency: string;
  next_cursor: string | null;
}

export interface PlannedChange {
  resource_id: string;
  kind: string;
  summary: string;
  monthly_saving: Money;
  risk: string;
}

export interface Plan {
  plan_id: string;
  status: PlanStatus;
  region: string;
  title: string;
  changes: PlannedChange[];
  monthly_saving: Money;
  currency: string;
  risk: string;
  requires_approval: boolean;
  approval_reasons: string[];
  reason: string;
  decided_by: string | null;
  decided_at: string | null;
  requested_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface Savings {
  achieved_monthly: Money;
  applied_plans: number;
  measured_monthly: Money;
  measured_plans: number;
  available_monthly: Money;
  available_plans: number;
  recommended_monthly: Money;
  currency: string;
}

export interface Decision {
  plan_id: string;
  decision: "approve" | "reject";
  accepted_at: string;
  detail: string;
}

export type PolicyKind = "required_tags" | "allowed_instance_families" | "anomaly_impact" | "budget_ceiling" | "auto_apply";

export interface PolicyInput {
  name: string;
  rule: { kind: PolicyKind } & Record<string, unknown>;
  enabled: boolean;
}

export interface Policy extends PolicyInput {
  policy_id: string;
  kind: PolicyKind;
  version: number;
  created_at: string;
  updated_at: string;
}

export type WebhookEvent = "anomaly" | "budget_alert" | "plan" | "policy_violation";

export interface WebhookInput {
  url: string;
  events: WebhookEvent[];
  filters?: Record<string, unknown>;
  description?: string;
  format?: "outlay" | "slack" | "teams";
}

export interface Webhook {
  webhook_id: string;
  url: string;
  events: string[];
  filters: Record<string, unknown>;
  description: string;
  format: string;
  created_at: string;
}

export interface Delivery {
  delivery_id: number;
  event_type: string;
  status: "pending" | "sending" | "delivered" | "dead";
  attempts: number;
  next_attempt_at: string;
  last_status_code: number | null;
  last_error: string;
  created_at: string;
  delivered_at: string | null;
}

export interface ApiKey {
  key_id: string;
  name: string;
  scopes: string[];
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  user_id: string | null;
}

/** A key as made: the secret (`key`) is in this answer only, never again. */
export interface NewApiKey extends ApiKey {
  key: string;
}

export interface KeyInput {
  name: string;
  scopes?: string[];
  role?: string;
  user_id?: string;
  expires_at?: string;
}

export interface User {
  user_id: string;
  email: string;
  name: string;
  role: string;
  created_at: string;
  disabled_at: string | null;
  /** Whether they can sign in with their e-mail and a password (absent from older gateways). */
  has_password?: boolean;
}

/** A one-time set-password token (POST /v1/users/{id}/password-token): shown once. */
export interface PasswordToken {
  user_id: string;
  token: string;
  expires_at: string;
  /** "/#set-password=<token>": the dashboard's page that sets the password (append to the gateway's address). */
  set_password_path: string;
}

/** GET/POST /v1/session: whether this browser is signed in with an e-mail and password, and as whom. */
export interface SessionInfo {
  signed_in: boolean;
  tenant_id: string | null;
  user_id: string | null;
  email: string | null;
  name: string | null;
  role: string | null;
  scopes: string[];
  session_id: string | null;
  idle_expires_at: string | null;
  expires_at: string | null;
}

export interface Me {
  tenant_id: string;
  key_id: string;
  name: string;
  user_id: string | null;
  scopes: string[];
  /** The operator's key (OUTLAY_API_KEY); absent from gateways older than this field. */
  operator?: boolean;
  /** Who made this key ("user:<id>" or "key:<id>"), when recorded. */
  made_by?: string | null;
}

/** A pull request commit's monthly cost change, as CI reported it (`outlay report-estimate`). */
export interface IacEstimate {
  estimate_id: string;
  repository: string;
  pull_request: number | null;
  ref: string | null;
  commit_sha: string;
  title: string | null;
  url: string | null;
  monthly_cost_before: Money;
  monthly_cost_after: Money;
  monthly_delta: Money;
  resources_changed: number;
  verdict: "passed" | "failed" | "none";
  reported_at: string;
}

/** A deploy a pipeline reported (GET /v1/deployments), with the step it made in its scope's hourly cost. */
export interface Deployment {
  deployment_id: string;
  scope: string;
  version: string;
  deployed_at: string;
  description: string | null;
  url: string | null;
  reported_by: string;
  reported_at: string;
  cost_step: {
    currency: string;
    cost_kind: "billed" | "estimated";
    window_hours: number;
    hours_before: number;
    hours_after: number;
    hourly_before: Money;
    hourly_after: Money;
    hourly_change: Money;
    monthly_change: Money;
    change_share: number | null;
    settled: boolean;
  } | null;
}

/** A failed request: the HTTP status and the RFC 9457 problem's words when the API sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type Query = Record<string, string | number | string[] | undefined>;

export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) params.append(name, String(one));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

async function problemMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { detail?: unknown; title?: unknown };
    if (typeof body.detail === "string" && body.detail) return body.detail;
    if (typeof body.title === "string" && body.title) return body.title;
  } catch {
    // not JSON: fall through to the status line
  }
  return `${response.status} ${response.statusText}`.trim();
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** The header the gateway requires on every signed-in (cookie) request that changes something: no other site's page
 * can set it, so a forged cross-site request is refused (services/gateway/auth.py). Sent on every session request. */
export const CSRF_HEADER = "X-Outlay-CSRF";

/** The headers of a request: the API key as a bearer token, or (null: the browser's session cookie) the CSRF header. */
export function authHeaders(apiKey: string | null, withBody: boolean): Record<string, string> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (apiKey !== null) headers["Authorization"] = `Bearer ${apiKey}`;
  else headers[CSRF_HEADER] = "1";
  if (withBody) headers["Content-Type"] = "application/json";
  return headers;
}

async function send<T>(fetchImpl: typeof fetch, apiKey: string | null, method: Method, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetchImpl(path, {
      method,
      headers: authHeaders(apiKey, body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      // The session cookie goes to this origin only (it is SameSite=Strict and HttpOnly: no script reads it).
      credentials: "same-origin",
    });
  } catch (error) {
    throw new ApiError(0, `The API is not reachable (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!response.ok) throw new ApiError(response.status, await problemMessage(response));
  // 202 Accepted and 204 No Content may carry no body.
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

const browserFetch: typeof fetch = (...args) => fetch(...args);

/** Sign in with an e-mail and a password: the gateway sets the session cookie (POST /v1/session). `tenantId` is
 * needed only when the e-mail and password sign in to several organisations (a 422 naming tenant_id says so). */
export function signIn(email: string, password: string, tenantId?: string, fetchImpl: typeof fetch = browserFetch): Promise<SessionInfo> {
  const body: Record<string, string> = { email, password };
  if (tenantId) body["tenant_id"] = tenantId;
  return send<SessionInfo>(fetchImpl, null, "POST", "/v1/session", body);
}

/** Whether this browser is signed in (GET /v1/session: 200 either way, so asking on load logs no failed request). */
export function sessionStatus(fetchImpl: typeof fetch = browserFetch): Promise<SessionInfo> {
  return send<SessionInfo>(fetchImpl, null, "GET", "/v1/session");
}

/** Sign out: the gateway ends the session (server-side) and drops the cookie. */
export function signOut(fetchImpl: typeof fetch = browserFetch): Promise<undefined> {
  return send<undefined>(fetchImpl, null, "DELETE", "/v1/session");
}

/** Set a password with the one-time token an admin issued; the e-mail it signs in with. */
export function setPassword(
  token: string,
  password: string,
  fetchImpl: typeof fetch = browserFetch,
): Promise<{ tenant_id: string; user_id: string; email: string }> {
  return send(fetchImpl, null, "POST", "/v1/session/password", { token, password });
}

/** The API as one caller: `apiKey` sends that key; null sends the browser's session cookie (signed in by `signIn`). */
export function createClient(apiKey: string | null, fetchImpl: typeof fetch = browserFetch) {
  function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    return send<T>(fetchImpl, apiKey, method, path, body);
  }

  return {
    me: () => request<Me>("GET", "/v1/me"),
    costs: ({ filters, ...params }: CostsParams) =>
      request<CostsResponse>("GET", `/v1/costs${queryString({ granularity: "day", ...params, ...filters })}`),
    dimensions: (start: string, end: string) =>
      request<Dimensions>("GET", `/v1/costs/dimensions${queryString({ start, end })}`),
    reconciliation: (start: string, end: string) =>
      request<Reconciliation>("GET", `/v1/costs/reconciliation${queryString({ start, end })}`),
    allocationRules: () => request<AllocationRules>("GET", "/v1/allocation/rules"),
    allocation: (query: { by: string; start: string; end: string; grain?: "day" | "month" }) =>
      request<AllocationReport>("GET", `/v1/allocation${queryString({ grain: "day", ...query })}`),
    unitCosts: (query: UnitCostsParams) => request<UnitCosts>("GET", `/v1/unit-costs${queryString({ ...query })}`),
    correlation: (query: { driver: string; start?: string; end?: string }) =>
      request<Correlation>("GET", `/v1/unit-economics/correlation${queryString(query)}`),
    forecasts: (scope = "total") =>
      request<{ forecasts: CostForecast[] }>("GET", `/v1/forecasts${queryString({ scope })}`),
    budgets: () => request<{ budgets: Budget[]; next_cursor: string | null }>("GET", "/v1/budgets?limit=500"),
    createBudget: (budget: BudgetInput) => request<Budget>("POST", "/v1/budgets", budget),
    deleteBudget: (budgetId: string) => request<undefined>("DELETE", `/v1/budgets/${encodeURIComponent(budgetId)}`),
    updateBudget: (budgetId: string, budget: BudgetInput) =>
      request<Budget>("PUT", `/v1/budgets/${encodeURIComponent(budgetId)}`, budget),
    budgetVariance: () => request<{ budgets: BudgetStatus[] }>("GET", "/v1/budgets/variance"),
    anomalies: (query: { status?: "open" | "closed" | "any"; limit?: number; cursor?: string } = {}) =>
      request<{ items: Anomaly[]; next_cursor: string | null }>("GET", `/v1/anomalies${queryString(query)}`),
    anomalyFeedback: (anomalyId: string, verdict: Verdict) =>
      request<Anomaly>("POST", `/v1/anomalies/${encodeURIComponent(anomalyId)}/feedback`, { verdict }),
    recommendations: () => request<Recommendations>("GET", "/v1/recommendations?limit=100"),
    plans: (status?: PlanStatus) => request<{ plans: Plan[]; next_cursor: string | null }>("GET", `/v1/plans${queryString({ status, limit: 100 })}`),
    requestApproval: (planId: string, comment = "") =>
      request<Plan>("POST", `/v1/plans/${encodeURIComponent(planId)}/request-approval`, { comment }),
    decidePlan: (planId: string, decision: "approve" | "reject", comment = "") =>
      request<Decision>("POST", `/v1/plans/${encodeURIComponent(planId)}/${decision}`, { comment }),
    savings: () => request<Savings>("GET", "/v1/savings"),
    deployments: (scope?: string, limit = 20) =>
      request<{ deployments: Deployment[]; next_cursor: string | null }>("GET", `/v1/deployments${queryString({ scope, limit })}`),
    iacEstimates: (repository?: string, limit = 20) =>
      request<{ estimates: IacEstimate[]; next_cursor: string | null }>("GET", `/v1/iac/estimates${queryString({ repository, limit })}`),
    policies: () => request<{ policies: Policy[]; next_cursor: string | null }>("GET", "/v1/policies?limit=500"),
    createPolicy: (policy: PolicyInput) => request<Policy>("POST", "/v1/policies", policy),
    replacePolicy: (policyId: string, policy: PolicyInput) =>
      request<Policy>("PUT", `/v1/policies/${encodeURIComponent(policyId)}`, policy),
    deletePolicy: (policyId: string) => request<undefined>("DELETE", `/v1/policies/${encodeURIComponent(policyId)}`),
    webhooks: () => request<{ webhooks: Webhook[]; next_cursor: string | null }>("GET", "/v1/webhooks?limit=500"),
    createWebhook: (hook: WebhookInput) => request<Webhook & { secret: string }>("POST", "/v1/webhooks", hook),
    deleteWebhook: (webhookId: string) => request<undefined>("DELETE", `/v1/webhooks/${encodeURIComponent(webhookId)}`),
    pingWebhook: (webhookId: string) => request<undefined>("POST", `/v1/webhooks/${encodeURIComponent(webhookId)}/ping`),
    deliveries: (webhookId: string, limit = 5) =>
      request<{ deliveries: Delivery[]; next_cursor: string | null }>(
        "GET",
        `/v1/webhooks/${encodeURIComponent(webhookId)}/deliveries${queryString({ limit })}`,
      ),
    keys: () => request<{ keys: ApiKey[]; next_cursor: string | null }>("GET", "/v1/keys?limit=500"),
    createKey: (key: KeyInput) => request<NewApiKey>("POST", "/v1/keys", key),
    createOwnKey: (name: string) => request<NewApiKey>("POST", "/v1/me/keys", { name }),
    revokeKey: (keyId: string) => request<undefined>("DELETE", `/v1/keys/${encodeURIComponent(keyId)}`),
    users: () => request<{ users: User[]; next_cursor: string | null }>("GET", "/v1/users?limit=500"),
    createUser: (user: { email: string; name: string; role: string }) => request<User>("POST", "/v1/users", user),
    updateUser: (userId: string, patch: { role?: string; disabled?: boolean }) =>
      request<User>("PATCH", `/v1/users/${encodeURIComponent(userId)}`, patch),
    issuePasswordToken: (userId: string) =>
      request<PasswordToken>("POST", `/v1/users/${encodeURIComponent(userId)}/password-token`),
  };
}

export type ApiClient = ReturnType<typeof createClient>;
