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

export interface Budget {
  budget_id: string;
  name: string;
  scope: string;
  amount: Money;
  currency: string;
  period: string;
}

export interface BudgetStatus {
  budget_id: string;
  name: string;
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

export interface Me {
  tenant_id: string;
  key_id: string;
  name: string;
  user_id: string | null;
  scopes: string[];
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

export function createClient(apiKey: string, fetchImpl: typeof fetch = (...args) => fetch(...args)) {
  async function request<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${apiKey}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await fetchImpl(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, `The API is not reachable (${error instanceof Error ? error.message : String(error)})`);
    }
    if (!response.ok) throw new ApiError(response.status, await problemMessage(response));
    return (await response.json()) as T;
  }

  return {
    me: () => request<Me>("GET", "/v1/me"),
    costs: (params: CostsParams) =>
      request<CostsResponse>("GET", `/v1/costs${queryString({ granularity: "day", ...params })}`),
    forecasts: (scope = "total") =>
      request<{ forecasts: CostForecast[] }>("GET", `/v1/forecasts${queryString({ scope })}`),
    budgets: () => request<{ budgets: Budget[]; next_cursor: string | null }>("GET", "/v1/budgets"),
    budgetVariance: () => request<{ budgets: BudgetStatus[] }>("GET", "/v1/budgets/variance"),
    anomalies: (query: { status?: "open" | "closed" | "any"; limit?: number; cursor?: string } = {}) =>
      request<{ items: Anomaly[]; next_cursor: string | null }>("GET", `/v1/anomalies${queryString(query)}`),
    anomalyFeedback: (anomalyId: string, verdict: Verdict) =>
      request<Anomaly>("POST", `/v1/anomalies/${encodeURIComponent(anomalyId)}/feedback`, { verdict }),
  };
}

export type ApiClient = ReturnType<typeof createClient>;
