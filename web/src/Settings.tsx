// Settings: budgets, policies, webhooks (with a test delivery), API keys (shown once) and members with roles.
// Each section asks only what the key's scopes allow, and each control the scopes forbid says why.
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ApiClient, Budget, Me, NewApiKey, Policy, PolicyKind, User, Webhook, WebhookEvent, WebhookInput } from "./api";
import { ActionButton, Table } from "./Controls";
import { ALL_SCOPES, lacks, ROLE_NAMES, ROLES } from "./roles";
import {
  budgetForm,
  budgetInput,
  describeRule,
  EMPTY_BUDGET,
  keyInput,
  keyState,
  policyFields,
  policyInput,
  POLICY_KINDS,
  WEBHOOK_EVENTS,
  webhookInput,
  type BudgetForm,
  type Checked,
} from "./settingsShape";
import { formatMoney } from "./shape";
import { Empty, Failure, Loading, NotAllowed, Outcome } from "./States";

type Section = "budgets" | "policies" | "webhooks" | "keys" | "members";
const SECTIONS: { id: Section; label: string }[] = [
  { id: "budgets", label: "Budgets" },
  { id: "policies", label: "Policies" },
  { id: "webhooks", label: "Webhooks" },
  { id: "keys", label: "API keys" },
  { id: "members", label: "Members and roles" },
];

export function Settings({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const [section, setSection] = useState<Section>("budgets");
  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <div className="subnav" role="group" aria-label="Settings sections">
        {SECTIONS.map((s) => (
          <button key={s.id} type="button" aria-pressed={section === s.id} onClick={() => setSection(s.id)} data-testid={`settings-${s.id}`}>
            {s.label}
          </button>
        ))}
      </div>
      {section === "budgets" ? (
        <Budgets client={client} me={me} />
      ) : section === "policies" ? (
        <Policies client={client} me={me} />
      ) : section === "webhooks" ? (
        <Webhooks client={client} me={me} />
      ) : section === "keys" ? (
        <Keys client={client} me={me} />
      ) : (
        <Members client={client} me={me} />
      )}
    </section>
  );
}

function Field({ label, error, help, children }: { label: string; error?: string | null; help?: string; children: (id: string, describedBy: string | undefined) => ReactNode }) {
  const id = useId();
  const note = `${id}-note`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id, error || help ? note : undefined)}
      {error ? (
        <span id={note} className="help error" role="alert">
          {error}
        </span>
      ) : help ? (
        <span id={note} className="help">
          {help}
        </span>
      ) : null}
    </div>
  );
}

const errorFor = <T,>(checked: Checked<T> | null, field: string) => (checked && !checked.ok && checked.field === field ? checked.message : null);

// ---- Budgets ---------------------------------------------------------------------------------------------------

function Budgets({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const queries = useQueryClient();
  const readDenied = lacks(me?.scopes, "read:budgets");
  const writeDenied = lacks(me?.scopes, "write:budgets");
  const budgets = useQuery({ queryKey: ["budgets"], queryFn: () => client.budgets(), enabled: !readDenied });
  const [editing, setEditing] = useState<Budget | "new" | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) => client.deleteBudget(id),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["budgets"] }),
  });

  return (
    <section aria-labelledby="budgets-settings-title">
      <h3 id="budgets-settings-title">Budgets</h3>
      {readDenied ? (
        <NotAllowed reason={readDenied} />
      ) : (
        <>
          <ActionButton label="New budget" reason={writeDenied} onClick={() => setEditing("new")} testId="new-budget" />
          {editing && (
            <BudgetEditor key={editing === "new" ? "new" : editing.budget_id} client={client} budget={editing === "new" ? null : editing} onDone={() => setEditing(null)} />
          )}
          {budgets.isPending ? (
            <Loading what="budgets" />
          ) : budgets.isError ? (
            <Failure what="budgets" error={budgets.error} retry={() => void budgets.refetch()} />
          ) : !budgets.data.budgets.length ? (
            <Empty>No budgets yet.</Empty>
          ) : (
            <Table caption="Budgets" head={["Name", "Scope", "Amount", "Period", "Actions"]} testId="budgets-table" numeric={[2]}>
              {budgets.data.budgets.map((b) => (
                <tr key={b.budget_id}>
                  <th scope="row">{b.name}</th>
                  <td>{b.scope}</td>
                  <td className="num">{formatMoney(b.amount, b.currency)}</td>
                  <td>{b.period === "custom" ? `${b.start ?? "?"} to ${b.end ?? "?"}` : "monthly"}</td>
                  <td>
                    <div className="actions">
                      <ActionButton label={`Edit ${b.name}`} reason={writeDenied} onClick={() => setEditing(b)} className="small" quiet testId="edit-budget" />
                      <ActionButton
                        label={`Delete ${b.name}`}
                        reason={writeDenied}
                        busy={remove.isPending}
                        className="small"
                        quiet
                        testId="delete-budget"
                        onClick={() => {
                          if (window.confirm(`Delete the budget ${b.name}?`)) remove.mutate(b.budget_id);
                        }}
                      />
                    </div>
                  </td>
                </tr>
              ))}
            </Table>
          )}
          <Outcome pending={remove.isPending} error={remove.error} done={remove.isSuccess ? "Budget deleted." : null} />
        </>
      )}
    </section>
  );
}

function BudgetEditor({ client, budget, onDone }: { client: ApiClient; budget: Budget | null; onDone: () => void }) {
  const queries = useQueryClient();
  const [form, setForm] = useState<BudgetForm>(budget ? budgetForm(budget) : EMPTY_BUDGET);
  const [checked, setChecked] = useState<ReturnType<typeof budgetInput> | null>(null);
  const save = useMutation({
    // An edit replaces the budget in place (PUT): same id, its history in the audit trail.
    mutationFn: (body: Parameters<ApiClient["createBudget"]>[0]) =>
      budget ? client.updateBudget(budget.budget_id, body) : client.createBudget(body),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ["budgets"] });
      onDone();
    },
    onSettled: () => queries.invalidateQueries({ queryKey: ["budgets"] }),
  });
  const set = (name: keyof BudgetForm) => (e: { target: { value: string } }) => setForm({ ...form, [name]: e.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const result = budgetInput(form, budget?.thresholds);
    setChecked(result);
    if (result.ok) save.mutate(result.value);
  };
  return (
    <form className="editor" onSubmit={submit} aria-label={budget ? `Edit budget ${budget.name}` : "New budget"} data-testid="budget-form">
      <Field label="Name" error={errorFor(checked, "name")}>
        {(id, d) => <input id={id} aria-describedby={d} value={form.name} onChange={set("name")} />}
      </Field>
      <Field label="Scope" error={errorFor(checked, "scope")} help="total, service=NAME, billing_account_id=ID or tag:KEY=VALUE">
        {(id, d) => <input id={id} aria-describedby={d} value={form.scope} onChange={set("scope")} />}
      </Field>
      <Field label="Amount" error={errorFor(checked, "amount")}>
        {(id, d) => <input id={id} aria-describedby={d} inputMode="decimal" value={form.amount} onChange={set("amount")} />}
      </Field>
      <Field label="Currency" error={errorFor(checked, "currency")}>
        {(id, d) => <input id={id} aria-describedby={d} value={form.currency} onChange={set("currency")} maxLength={3} />}
      </Field>
      <Field label="Period">
        {(id) => (
          <select id={id} value={form.period} onChange={set("period")}>
            <option value="monthly">Monthly</option>
            <option value="custom">Custom</option>
          </select>
        )}
      </Field>
      {form.period === "custom" && (
        <>
          <Field label="First day" error={errorFor(checked, "start")}>
            {(id, d) => <input id={id} aria-describedby={d} type="date" value={form.start} onChange={set("start")} />}
          </Field>
          <Field label="Last day" error={errorFor(checked, "end")}>
            {(id, d) => <input id={id} aria-describedby={d} type="date" value={form.end} onChange={set("end")} />}
          </Field>
        </>
      )}
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          {budget ? "Save budget" : "Create budget"}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
      <Outcome pending={save.isPending} error={save.error} />
    </form>
  );
}

// ---- Policies --------------------------------------------------------------------------------------------------

function Policies({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const queries = useQueryClient();
  const readDenied = lacks(me?.scopes, "read:policies");
  const writeDenied = lacks(me?.scopes, "write:policies");
  const policies = useQuery({ queryKey: ["policies"], queryFn: () => client.policies(), enabled: !readDenied });
  const [editing, setEditing] = useState<Policy | "new" | null>(null);
  const refresh = () => queries.invalidateQueries({ queryKey: ["policies"] });
  const toggle = useMutation({
    mutationFn: (p: Policy) => client.replacePolicy(p.policy_id, { name: p.name, rule: p.rule, enabled: !p.enabled }),
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: (id: string) => client.deletePolicy(id), onSuccess: refresh });

  return (
    <section aria-labelledby="policies-title">
      <h3 id="policies-title">Policies</h3>
      {readDenied ? (
        <NotAllowed reason={readDenied} />
      ) : (
        <>
          <ActionButton label="New policy" reason={writeDenied} onClick={() => setEditing("new")} testId="new-policy" />
          {editing && (
            <PolicyEditor
              key={editing === "new" ? "new" : editing.policy_id}
              client={client}
              policy={editing === "new" ? null : editing}
              onDone={() => setEditing(null)}
            />
          )}
          {policies.isPending ? (
            <Loading what="policies" />
          ) : policies.isError ? (
            <Failure what="policies" error={policies.error} retry={() => void policies.refetch()} />
          ) : !policies.data.policies.length ? (
            <Empty>No policies yet.</Empty>
          ) : (
            <Table caption="Policies" head={["Name", "Kind", "Rule", "State", "Actions"]} testId="policies-table">
              {policies.data.policies.map((p) => (
                <tr key={p.policy_id}>
                  <th scope="row">{p.name}</th>
                  <td>{POLICY_KINDS.find((k) => k.kind === p.kind)?.label ?? p.kind}</td>
                  <td>{describeRule(p.rule)}</td>
                  <td>
                    {p.enabled ? "enabled" : "disabled"} (v{p.version})
                  </td>
                  <td>
                    <div className="actions">
                      <ActionButton label={`Edit ${p.name}`} reason={writeDenied} onClick={() => setEditing(p)} className="small" quiet testId="edit-policy" />
                      <ActionButton
                        label={`${p.enabled ? "Disable" : "Enable"} ${p.name}`}
                        reason={writeDenied}
                        busy={toggle.isPending}
                        className="small"
                        quiet
                        onClick={() => toggle.mutate(p)}
                        testId="toggle-policy"
                      />
                      <ActionButton
                        label={`Delete ${p.name}`}
                        reason={writeDenied}
                        busy={remove.isPending}
                        className="small"
                        quiet
                        testId="delete-policy"
                        onClick={() => {
                          if (window.confirm(`Delete the policy ${p.name}?`)) remove.mutate(p.policy_id);
                        }}
                      />
                    </div>
                  </td>
                </tr>
              ))}
            </Table>
          )}
          <Outcome pending={toggle.isPending || remove.isPending} error={toggle.error ?? remove.error} />
        </>
      )}
    </section>
  );
}

function PolicyEditor({ client, policy, onDone }: { client: ApiClient; policy: Policy | null; onDone: () => void }) {
  const queries = useQueryClient();
  const [name, setName] = useState(policy?.name ?? "");
  const [kind, setKind] = useState<PolicyKind>(policy?.kind ?? "required_tags");
  const [fields, setFields] = useState<Record<string, string>>(() => (policy ? policyFields(policy.rule) : {}));
  const [checked, setChecked] = useState<ReturnType<typeof policyInput> | null>(null);
  const save = useMutation({
    // An edit replaces the policy (PUT): same id, the next version.
    mutationFn: (body: Parameters<ApiClient["createPolicy"]>[0]) =>
      policy ? client.replacePolicy(policy.policy_id, body) : client.createPolicy(body),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ["policies"] });
      onDone();
    },
  });
  const spec = POLICY_KINDS.find((k) => k.kind === kind) ?? POLICY_KINDS[0];
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const result = policyInput(name, kind, fields, policy?.enabled ?? true);
    setChecked(result);
    if (result.ok) save.mutate(result.value);
  };
  return (
    <form className="editor" onSubmit={submit} aria-label={policy ? `Edit policy ${policy.name}` : "New policy"} data-testid="policy-form">
      <Field label="Name" error={errorFor(checked, "name")}>
        {(id, d) => <input id={id} aria-describedby={d} value={name} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field label="Kind">
        {(id) => (
          <select
            id={id}
            value={kind}
            onChange={(e) => {
              setKind(e.target.value as PolicyKind);
              setFields({});
            }}
          >
            {POLICY_KINDS.map((k) => (
              <option key={k.kind} value={k.kind}>
                {k.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      {spec?.fields.map((f) => (
        <Field key={f.name} label={f.label} help={f.help} error={errorFor(checked, f.name)}>
          {(id, d) => <input id={id} aria-describedby={d} value={fields[f.name] ?? ""} onChange={(e) => setFields({ ...fields, [f.name]: e.target.value })} />}
        </Field>
      ))}
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          {policy ? "Save policy" : "Create policy"}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
      <Outcome pending={save.isPending} error={save.error} />
    </form>
  );
}

// ---- Webhooks --------------------------------------------------------------------------------------------------

function Webhooks({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const queries = useQueryClient();
  const denied = lacks(me?.scopes, "write:webhooks");
  const hooks = useQuery({ queryKey: ["webhooks"], queryFn: () => client.webhooks(), enabled: !denied });
  const [adding, setAdding] = useState(false);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) => client.deleteWebhook(id),
    // The deleted webhook leaves the list at once (its deliveries are not asked for again: they would be a 404),
    // then the list is read again.
    onSuccess: (_, id) => {
      queries.setQueryData<Awaited<ReturnType<ApiClient["webhooks"]>>>(["webhooks"], (list) =>
        list ? { ...list, webhooks: list.webhooks.filter((h) => h.webhook_id !== id) } : list,
      );
      queries.removeQueries({ queryKey: ["webhooks", id] });
      return queries.invalidateQueries({ queryKey: ["webhooks"], exact: true });
    },
  });
  return (
    <section aria-labelledby="webhooks-title">
      <h3 id="webhooks-title">Webhooks</h3>
      {denied ? (
        <NotAllowed reason={`Webhooks (even listing them): ${denied}`} />
      ) : (
        <>
          <button type="button" onClick={() => setAdding(true)} data-testid="new-webhook">
            New webhook
          </button>
          {adding && (
            <WebhookEditor
              client={client}
              onDone={(made) => {
                setAdding(false);
                if (made) setSecret(made);
              }}
            />
          )}
          {secret && <ShownOnce title={`Signing secret of ${secret.url}`} value={secret.secret} onDismiss={() => setSecret(null)} testId="webhook-secret" />}
          {hooks.isPending ? (
            <Loading what="webhooks" />
          ) : hooks.isError ? (
            <Failure what="webhooks" error={hooks.error} retry={() => void hooks.refetch()} />
          ) : !hooks.data.webhooks.length ? (
            <Empty>No webhooks yet.</Empty>
          ) : (
            <ul className="cards-list" data-testid="webhooks-list">
              {hooks.data.webhooks.map((h) => (
                <WebhookItem
                  key={h.webhook_id}
                  client={client}
                  hook={h}
                  busy={remove.isPending}
                  onDelete={() => {
                    if (window.confirm(`Delete the webhook to ${h.url}?`)) remove.mutate(h.webhook_id);
                  }}
                />
              ))}
            </ul>
          )}
          <Outcome pending={remove.isPending} error={remove.error} done={remove.isSuccess ? "Webhook deleted." : null} />
        </>
      )}
    </section>
  );
}

function WebhookItem({ client, hook, busy, onDelete }: { client: ApiClient; hook: Webhook; busy: boolean; onDelete: () => void }) {
  const [watching, setWatching] = useState(false);
  const ping = useMutation({ mutationFn: () => client.pingWebhook(hook.webhook_id), onSuccess: () => setWatching(true) });
  const deliveries = useQuery({
    queryKey: ["webhooks", hook.webhook_id, "deliveries"],
    queryFn: () => client.deliveries(hook.webhook_id, 5),
    enabled: watching,
    refetchInterval: watching ? 5_000 : false,
  });
  return (
    <li className="card" data-testid="webhook">
      <strong className="wrap">{hook.url}</strong>
      <span className="help">
        {hook.events.join(", ")} · {hook.format}
        {hook.description && ` · ${hook.description}`}
      </span>
      <div className="actions">
        <button type="button" className="small" disabled={ping.isPending} onClick={() => ping.mutate()} data-testid="ping-webhook">
          Send test delivery
        </button>
        <button type="button" className="small" onClick={() => setWatching((w) => !w)} aria-expanded={watching}>
          {watching ? "Hide deliveries" : "Show deliveries"}
        </button>
        <button type="button" className="small" disabled={busy} onClick={onDelete} data-testid="delete-webhook">
          Delete webhook
        </button>
      </div>
      <Outcome pending={ping.isPending} error={ping.error} done={ping.isSuccess ? "Test delivery queued: its result shows below." : null} />
      {watching &&
        (deliveries.isPending ? (
          <Loading what="deliveries" />
        ) : deliveries.isError ? (
          <Failure what="deliveries" error={deliveries.error} retry={() => void deliveries.refetch()} />
        ) : !deliveries.data.deliveries.length ? (
          <Empty>No delivery yet.</Empty>
        ) : (
          <Table caption={`Latest deliveries to ${hook.url}`} head={["Event", "Status", "Tries", "Last answer", "When (UTC)"]} testId="deliveries">
            {deliveries.data.deliveries.map((d) => (
              <tr key={d.delivery_id}>
                <td>{d.event_type}</td>
                <td>
                  <span className={`badge ${d.status === "dead" ? "high" : d.status === "delivered" ? "ok" : ""}`}>{d.status}</span>
                </td>
                <td className="num">{d.attempts}</td>
                <td>{d.last_status_code ?? ""} {d.last_error}</td>
                <td>{d.created_at.slice(0, 19).replace("T", " ")}</td>
              </tr>
            ))}
          </Table>
        ))}
    </li>
  );
}

function WebhookEditor({ client, onDone }: { client: ApiClient; onDone: (made?: { url: string; secret: string }) => void }) {
  const queries = useQueryClient();
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<WebhookEvent[]>(["anomaly"]);
  const [format, setFormat] = useState<NonNullable<WebhookInput["format"]>>("outlay");
  const [description, setDescription] = useState("");
  const [checked, setChecked] = useState<ReturnType<typeof webhookInput> | null>(null);
  const save = useMutation({
    mutationFn: (body: WebhookInput) => client.createWebhook(body),
    onSuccess: async (made) => {
      await queries.invalidateQueries({ queryKey: ["webhooks"], exact: true });
      onDone({ url: made.url, secret: made.secret });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const result = webhookInput(url, events, format, description);
    setChecked(result);
    if (result.ok) save.mutate(result.value);
  };
  return (
    <form className="editor" onSubmit={submit} aria-label="New webhook" data-testid="webhook-form">
      <Field label="URL" error={errorFor(checked, "url")} help="Internal and private addresses are refused by the API.">
        {(id, d) => <input id={id} aria-describedby={d} type="url" value={url} onChange={(e) => setUrl(e.target.value)} />}
      </Field>
      <fieldset className="field">
        <legend>Events</legend>
        {WEBHOOK_EVENTS.map((e) => (
          <label key={e} className="check">
            <input
              type="checkbox"
              checked={events.includes(e)}
              onChange={(change) => setEvents(change.target.checked ? [...events, e] : events.filter((x) => x !== e))}
            />{" "}
            {e.replace("_", " ")}
          </label>
        ))}
        {errorFor(checked, "events") && (
          <span className="help error" role="alert">
            {errorFor(checked, "events")}
          </span>
        )}
      </fieldset>
      <Field label="Format">
        {(id) => (
          <select id={id} value={format} onChange={(e) => setFormat(e.target.value as typeof format)}>
            <option value="outlay">Outlay JSON (signed)</option>
            <option value="slack">Slack</option>
            <option value="teams">Microsoft Teams</option>
          </select>
        )}
      </Field>
      <Field label="Description">
        {(id) => <input id={id} value={description} onChange={(e) => setDescription(e.target.value)} />}
      </Field>
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          Create webhook
        </button>
        <button type="button" onClick={() => onDone()}>
          Cancel
        </button>
      </div>
      <Outcome pending={save.isPending} error={save.error} />
    </form>
  );
}

/** A secret the API shows once: a read-only field, a copy button, and a warning. */
function ShownOnce({ title, value, onDismiss, testId }: { title: string; value: string; onDismiss: () => void; testId: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  const id = useId();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied("Copied.");
    } catch {
      setCopied("Copying is not allowed here: select the text and copy it.");
    }
  };
  return (
    <div className="shown-once" role="region" aria-label={title} data-testid={testId}>
      <label htmlFor={id}>{title}</label>
      <p className="help">Shown this once: copy it now, the API keeps only its digest.</p>
      <div className="toolbar">
        <input id={id} readOnly value={value} onFocus={(e) => e.target.select()} data-testid={`${testId}-value`} />
        <button type="button" onClick={() => void copy()} data-testid={`${testId}-copy`}>
          Copy
        </button>
        <button type="button" onClick={onDismiss}>
          Done
        </button>
      </div>
      {copied && (
        <p className="state" role="status">
          {copied}
        </p>
      )}
    </div>
  );
}

// ---- API keys --------------------------------------------------------------------------------------------------

function Keys({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const queries = useQueryClient();
  const denied = lacks(me?.scopes, "admin");
  const keys = useQuery({ queryKey: ["keys"], queryFn: () => client.keys(), enabled: !denied });
  const users = useQuery({ queryKey: ["users"], queryFn: () => client.users(), enabled: !denied });
  const [adding, setAdding] = useState(false);
  const [made, setMade] = useState<NewApiKey | null>(null);
  const own = useMutation({
    mutationFn: () => client.createOwnKey(`${me?.name ?? "my"} (dashboard)`),
    onSuccess: async (key) => {
      setMade(key);
      if (!denied) await queries.invalidateQueries({ queryKey: ["keys"] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => client.revokeKey(id),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["keys"] }),
  });
  const ownReason = !me ? "Checking what this key may do…" : me.user_id ? null : "Only a person's key makes keys of its own (this key belongs to no person).";
  const now = new Date();

  return (
    <section aria-labelledby="keys-title">
      <h3 id="keys-title">API keys</h3>
      <p className="help">
        A person decides plans with a key of their own: approvals need two different people, and whoever made a key could act with it.
      </p>
      <div className="actions">
        <ActionButton label="Make a key of my own" reason={ownReason} busy={own.isPending} onClick={() => own.mutate()} testId="own-key" />
        <ActionButton label="New API key" reason={denied} onClick={() => setAdding(true)} testId="new-key" />
      </div>
      <Outcome pending={own.isPending} error={own.error} />
      {made && <ShownOnce title={`API key ${made.name}`} value={made.key} onDismiss={() => setMade(null)} testId="new-key-secret" />}
      {adding && (
        <KeyEditor
          client={client}
          users={users.data?.users.filter((u) => !u.disabled_at).map((u) => ({ id: u.user_id, label: `${u.name || u.email} (${u.role})` })) ?? []}
          usersState={
            users.isPending ? (
              <Loading what="members" />
            ) : users.isError ? (
              <Failure what="members" error={users.error} retry={() => void users.refetch()} />
            ) : null
          }
          onDone={(key) => {
            setAdding(false);
            if (key) {
              setMade(key);
              void queries.invalidateQueries({ queryKey: ["keys"] });
            }
          }}
        />
      )}
      {denied ? (
        <NotAllowed reason={`Listing and revoking keys: ${denied}`} />
      ) : keys.isPending ? (
        <Loading what="API keys" />
      ) : keys.isError ? (
        <Failure what="API keys" error={keys.error} retry={() => void keys.refetch()} />
      ) : !keys.data.keys.length ? (
        <Empty>No keys made yet (the operator's key is not listed).</Empty>
      ) : (
        <Table caption="API keys" head={["Name", "Scopes", "Made", "Expires", "State", "Actions"]} testId="keys-table">
          {keys.data.keys.map((k) => {
            const state = keyState(k, now);
            return (
              <tr key={k.key_id}>
                <th scope="row">
                  {k.name} <span className="help">olk_{k.key_id}</span>
                </th>
                <td>{k.scopes.length ? k.scopes.join(", ") : k.user_id ? "the person's role" : "none"}</td>
                <td>
                  {k.created_at.slice(0, 10)} <span className="help">by {k.created_by}</span>
                </td>
                <td>{k.expires_at ? k.expires_at.slice(0, 10) : "never"}</td>
                <td>{state}</td>
                <td>
                  <ActionButton
                    label={`Revoke ${k.name}`}
                    reason={state === "active" ? (k.key_id === me?.key_id ? "This is the key you are signed in with." : null) : `Already ${state}.`}
                    busy={revoke.isPending}
                    className="small"
                    quiet
                    testId="revoke-key"
                    onClick={() => {
                      if (window.confirm(`Revoke the key ${k.name}? It stops working at once.`)) revoke.mutate(k.key_id);
                    }}
                  />
                </td>
              </tr>
            );
          })}
        </Table>
      )}
      <Outcome pending={revoke.isPending} error={revoke.error} done={revoke.isSuccess ? "Key revoked." : null} />
    </section>
  );
}

function KeyEditor({ client, users, usersState, onDone }: {
  client: ApiClient;
  users: { id: string; label: string }[];
  usersState: ReactNode; // while the members load, or why they did not
  onDone: (key?: NewApiKey) => void;
}) {
  const [form, setForm] = useState({ name: "", role: "viewer", scopes: [] as string[], userId: "", expires: "" });
  const [checked, setChecked] = useState<ReturnType<typeof keyInput> | null>(null);
  const save = useMutation({ mutationFn: (body: Parameters<ApiClient["createKey"]>[0]) => client.createKey(body), onSuccess: (key) => onDone(key) });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const result = keyInput(form, new Date().toISOString().slice(0, 10));
    setChecked(result);
    if (result.ok) save.mutate(result.value);
  };
  return (
    <form className="editor" onSubmit={submit} aria-label="New API key" data-testid="key-form">
      <Field label="Name" error={errorFor(checked, "name")}>
        {(id, d) => <input id={id} aria-describedby={d} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}
      </Field>
      <Field label="Person" help="A person's key acts with at most their role.">
        {(id, d) => (
          <select id={id} aria-describedby={d} value={form.userId} onChange={(e) => setForm({ ...form, userId: e.target.value })}>
            <option value="">Nobody (software)</option>
            {users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      {usersState}
      <Field label="Role" error={errorFor(checked, "role")} help={form.role ? `Scopes: ${ROLES[form.role]?.join(", ") ?? ""}` : "Or tick scopes below."}>
        {(id, d) => (
          <select id={id} aria-describedby={d} value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
            <option value="">{form.userId ? "The person's role" : "Scopes below"}</option>
            {ROLE_NAMES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        )}
      </Field>
      {!form.role && (
        <fieldset className="field">
          <legend>Scopes</legend>
          {ALL_SCOPES.map((s) => (
            <label key={s} className="check">
              <input
                type="checkbox"
                checked={form.scopes.includes(s)}
                onChange={(e) => setForm({ ...form, scopes: e.target.checked ? [...form.scopes, s] : form.scopes.filter((x) => x !== s) })}
              />{" "}
              {s}
            </label>
          ))}
        </fieldset>
      )}
      <Field label="Expires (optional)" error={errorFor(checked, "expires")}>
        {(id, d) => <input id={id} aria-describedby={d} type="date" value={form.expires} onChange={(e) => setForm({ ...form, expires: e.target.value })} />}
      </Field>
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          Create key
        </button>
        <button type="button" onClick={() => onDone()}>
          Cancel
        </button>
      </div>
      <Outcome pending={save.isPending} error={save.error} />
    </form>
  );
}

// ---- Members ---------------------------------------------------------------------------------------------------

function Members({ client, me }: { client: ApiClient; me: Me | undefined }) {
  const queries = useQueryClient();
  const denied = lacks(me?.scopes, "admin");
  const users = useQuery({ queryKey: ["users"], queryFn: () => client.users(), enabled: !denied });
  const refresh = () => queries.invalidateQueries({ queryKey: ["users"] });
  const change = useMutation({
    mutationFn: ({ id, patch }: { id: string; patch: { role?: string; disabled?: boolean } }) => client.updateUser(id, patch),
    onSuccess: refresh,
  });
  // A set-password link is shown once, for the person it was issued to (the token works once, within its expiry).
  const [link, setLink] = useState<{ email: string; url: string; expires: string } | null>(null);
  const issue = useMutation({
    mutationFn: (u: User) => client.issuePasswordToken(u.user_id),
    onSuccess: async (token, u) => {
      setLink({ email: u.email, url: `${window.location.origin}${token.set_password_path}`, expires: token.expires_at });
      await refresh();
    },
  });
  const [form, setForm] = useState({ email: "", name: "", role: "viewer" });
  const [formError, setFormError] = useState<string | null>(null);
  const add = useMutation({
    mutationFn: () => client.createUser(form),
    onSuccess: async () => {
      setForm({ email: "", name: "", role: "viewer" });
      await refresh();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!/^[^@\s]+@[^@\s]+$/.test(form.email.trim())) {
      setFormError("An email address, like ann@example.com.");
      return;
    }
    setFormError(null);
    add.mutate();
  };

  return (
    <section aria-labelledby="members-title">
      <h3 id="members-title">Members and roles</h3>
      <Table caption="Roles" head={["Role", "Scopes"]} testId="roles-table">
        {ROLE_NAMES.map((r) => (
          <tr key={r}>
            <th scope="row">{r}</th>
            <td>{ROLES[r]?.join(", ")}</td>
          </tr>
        ))}
      </Table>
      {denied ? (
        <NotAllowed reason={`Members: ${denied}`} />
      ) : (
        <>
          <form className="editor" onSubmit={submit} aria-label="Add a member" data-testid="member-form">
            <Field label="Email" error={formError}>
              {(id, d) => <input id={id} aria-describedby={d} type="email" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />}
            </Field>
            <Field label="Name">{(id) => <input id={id} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />}</Field>
            <Field label="Role">
              {(id) => (
                <select id={id} value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
                  {ROLE_NAMES.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <div className="actions">
              <button type="submit" disabled={add.isPending}>
                Add member
              </button>
            </div>
            <Outcome pending={add.isPending} error={add.error} done={add.isSuccess ? "Member added: make them a key in API keys." : null} />
          </form>
          {users.isPending ? (
            <Loading what="members" />
          ) : users.isError ? (
            <Failure what="members" error={users.error} retry={() => void users.refetch()} />
          ) : !users.data.users.length ? (
            <Empty>No members yet.</Empty>
          ) : (
            <Table caption="Members" head={["Member", "Role", "State", "Password", "Actions"]} testId="members-table">
              {users.data.users.map((u) => (
                <tr key={u.user_id}>
                  <th scope="row">
                    {u.name || u.email} <span className="help">{u.email}</span>
                  </th>
                  <td>
                    <label className="visually-hidden" htmlFor={`role-${u.user_id}`}>
                      Role of {u.email}
                    </label>
                    <select
                      id={`role-${u.user_id}`}
                      value={u.role}
                      disabled={change.isPending}
                      onChange={(e) => change.mutate({ id: u.user_id, patch: { role: e.target.value } })}
                    >
                      {ROLE_NAMES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>{u.disabled_at ? `disabled ${u.disabled_at.slice(0, 10)}` : "active"}</td>
                  <td>{u.has_password ? "set" : "none (API keys only)"}</td>
                  <td>
                    <button
                      type="button"
                      className="small"
                      disabled={issue.isPending || !!u.disabled_at}
                      onClick={() => issue.mutate(u)}
                    >
                      {`Set-password link for ${u.email}`}
                    </button>{" "}
                    <button
                      type="button"
                      className="small"
                      disabled={change.isPending}
                      onClick={() => change.mutate({ id: u.user_id, patch: { disabled: !u.disabled_at } })}
                    >
                      {u.disabled_at ? `Enable ${u.email}` : `Disable ${u.email}`}
                    </button>
                  </td>
                </tr>
              ))}
            </Table>
          )}
          <Outcome pending={change.isPending} error={change.error} />
          <Outcome pending={issue.isPending} error={issue.error} />
          {link && (
            <>
              <ShownOnce title={`Set-password link for ${link.email}`} value={link.url} onDismiss={() => setLink(null)} testId="password-link" />
              <p className="help">
                Send it to {link.email}: it sets their password once, until {link.expires.slice(0, 16).replace("T", " ")} UTC; a newer
                link replaces it.
              </p>
            </>
          )}
        </>
      )}
    </section>
  );
}
