// The signed-in user's webhooks: make one (its secret shown once, with a copy button), see
// each one's state and recent deliveries, redeliver, send a test event, rotate the secret,
// disable or enable, delete.
import { useMutation, useQuery } from "@apollo/client";
import { useState, type FormEvent } from "react";
import { describeError } from "../errors";
import {
  CreateWebhookDocument,
  DeleteWebhookDocument,
  RedeliverWebhookDeliveryDocument,
  RotateWebhookSecretDocument,
  SendTestWebhookEventDocument,
  UpdateWebhookDocument,
  WebhookDeliveriesDocument,
  WebhooksDocument,
  type TicketEventKind,
  type WebhookFieldsFragment,
} from "../generated/graphql";
import { DELIVERY_LABELS, EVENT_LABELS, formatDateTime } from "../labels";
import { ErrorNotice, Field, FormError, Loading, useFormError } from "../components/common";

const KINDS = Object.keys(EVENT_LABELS) as TicketEventKind[];

export function WebhooksPage() {
  const hooks = useQuery(WebhooksDocument);
  const [secret, setSecret] = useState<{ hook: string; secret: string } | null>(null);
  return (
    <div className="webhooks">
      <h1>Webhooks</h1>
      <p>
        Tessera POSTs each ticket event you may see to these addresses, signed with the webhook's secret (the Standard
        Webhooks format).
      </p>
      <CreateWebhook onCreated={(hook, value) => setSecret({ hook, secret: value })} />
      {secret && <SecretOnce secret={secret.secret} onDone={() => setSecret(null)} />}
      {hooks.loading && <Loading />}
      {hooks.error && <ErrorNotice error={hooks.error} onRetry={() => void hooks.refetch()} />}
      {hooks.data && hooks.data.webhooks.length === 0 && <p>No webhooks yet.</p>}
      {hooks.data?.webhooks.map((hook) => (
        <WebhookCard key={hook.id} hook={hook} onSecret={(value) => setSecret({ hook: hook.id, secret: value })} />
      ))}
    </div>
  );
}

function CreateWebhook({ onCreated }: { onCreated(hook: string, secret: string): void }) {
  const [create, { loading }] = useMutation(CreateWebhookDocument, { refetchQueries: [WebhooksDocument] });
  const { error, setError, fieldError, onEdit } = useFormError();
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [events, setEvents] = useState<TicketEventKind[]>([]);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const { data } = await create({ variables: { input: { url, description, events } } });
      if (data) {
        onCreated(data.createWebhook.webhook.id, data.createWebhook.secret);
        setUrl("");
        setDescription("");
        setEvents([]);
      }
    } catch (err) {
      setError(describeError(err));
    }
  };
  const toggle = (kind: TicketEventKind) =>
    setEvents((current) => (current.includes(kind) ? current.filter((k) => k !== kind) : [...current, kind]));
  return (
    <form className="card" onSubmit={submit} onChange={onEdit} aria-label="New webhook">
      <h2>New webhook</h2>
      <Field id="webhook-url" label="URL" error={fieldError("url")}>
        <input id="webhook-url" name="url" type="url" required value={url} onChange={(e) => setUrl(e.target.value)} />
      </Field>
      <Field id="webhook-description" label="Description" error={fieldError("description")}>
        <input id="webhook-description" name="description" value={description} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <fieldset>
        <legend>Events (none checked: every event)</legend>
        {KINDS.map((kind) => (
          <label key={kind} className="check">
            <input type="checkbox" checked={events.includes(kind)} onChange={() => toggle(kind)} /> {EVENT_LABELS[kind]}
          </label>
        ))}
      </fieldset>
      <FormError error={error} />
      <button type="submit" disabled={loading}>
        {loading ? "Creating…" : "Create webhook"}
      </button>
    </form>
  );
}

function SecretOnce({ secret, onDone }: { secret: string; onDone(): void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="info secret" role="status">
      <p>The signing secret, shown this once: store it where the receiver can read it.</p>
      <code aria-label="Signing secret">{secret}</code>
      <button
        type="button"
        onClick={() => {
          void navigator.clipboard?.writeText(secret).then(() => setCopied(true));
        }}
      >
        {copied ? "Copied" : "Copy"}
      </button>
      <button type="button" className="link" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

function WebhookCard({ hook, onSecret }: { hook: WebhookFieldsFragment; onSecret(secret: string): void }) {
  const [update] = useMutation(UpdateWebhookDocument);
  const [remove] = useMutation(DeleteWebhookDocument, { refetchQueries: [WebhooksDocument] });
  const [rotate] = useMutation(RotateWebhookSecretDocument);
  const [test] = useMutation(SendTestWebhookEventDocument, { refetchQueries: [WebhookDeliveriesDocument] });
  const [error, setError] = useState<unknown>(null);
  const run = (action: () => Promise<unknown>) => async () => {
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err);
    }
  };
  const label = hook.description || hook.url;
  return (
    <section className="card" aria-label={`Webhook ${label}`}>
      <h2>{label}</h2>
      <p>
        <code>{hook.url}</code> · {hook.active ? "Active" : `Disabled: ${hook.disabledReason ?? ""}`} · secret{" "}
        <code>{hook.secretPreview}</code>
        {hook.previousSecretExpiresAt && <> · the previous secret signs too until {formatDateTime(hook.previousSecretExpiresAt)}</>}
      </p>
      <p>Events: {hook.events.length === 0 ? "every event" : hook.events.map((k) => EVENT_LABELS[k]).join(", ")}</p>
      <div className="actions">
        <button type="button" onClick={run(() => test({ variables: { id: hook.id } }))} disabled={!hook.active}>
          Send test event
        </button>
        <button
          type="button"
          onClick={run(async () => {
            const { data } = await rotate({ variables: { id: hook.id } });
            if (data) onSecret(data.rotateWebhookSecret.secret);
          })}
        >
          Rotate secret
        </button>
        <button type="button" onClick={run(() => update({ variables: { id: hook.id, input: { active: !hook.active } } }))}>
          {hook.active ? "Disable" : "Enable"}
        </button>
        <button type="button" className="danger" onClick={run(() => remove({ variables: { id: hook.id } }))}>
          Delete
        </button>
      </div>
      {error !== null && <ErrorNotice error={error} />}
      <Deliveries hook={hook.id} />
    </section>
  );
}

function Deliveries({ hook }: { hook: string }) {
  const { data, loading, error, refetch } = useQuery(WebhookDeliveriesDocument, { variables: { id: hook }, pollInterval: 5000 });
  const [redeliver] = useMutation(RedeliverWebhookDeliveryDocument);
  const [failed, setFailed] = useState<unknown>(null);
  if (loading && !data) return <Loading label="Loading deliveries…" />;
  if (error) return <ErrorNotice error={error} onRetry={() => void refetch()} />;
  const nodes = data?.webhook?.deliveries.nodes ?? [];
  if (nodes.length === 0) return <p>No deliveries yet.</p>;
  return (
    <>
      {failed !== null && <ErrorNotice error={failed} />}
      <table>
        <caption>Recent deliveries</caption>
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Response</th>
            <th scope="col">Attempts</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((d) => (
            <tr key={d.id}>
              <td>{d.eventType}</td>
              <td title={d.lastError ?? undefined}>{DELIVERY_LABELS[d.status]}</td>
              <td>{d.responseCode ?? "—"}</td>
              <td>{d.attempts}</td>
              <td>{formatDateTime(d.createdAt)}</td>
              <td>
                <button
                  type="button"
                  className="link"
                  onClick={async () => {
                    setFailed(null);
                    try {
                      await redeliver({ variables: { id: d.id } });
                    } catch (err) {
                      setFailed(err);
                    }
                  }}
                >
                  Redeliver
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
