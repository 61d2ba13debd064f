// One ticket: its state and people, the moves the caller may make, the notes, the history and
// the emails sent. Live: another person's change refreshes the page and says so.
import { useMutation, useQuery } from "@apollo/client";
import { useCallback, useId, useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { ErrorNotice, Loading, Notice, StateBadge } from "../components/common";
import { ResponseDate } from "../components/ResponseDate";
import { TicketActions } from "../components/TicketActions";
import { describeError, type UserError } from "../errors";
import {
  AddNoteDocument,
  DeleteNoteDocument,
  EditNoteDocument,
  ResolveNoteDocument,
  TicketDetailDocument,
  type NoteFieldsFragment,
  type TicketDetailQuery,
} from "../generated/graphql";
import { EVENT_LABELS, NOTIFICATION_LABELS, RESIDENCY_LABELS, STATE_LABELS, formatDateTime } from "../labels";
import { useLiveEvents, type LiveEvent } from "../liveContext";
import { useMe } from "../session";

type Ticket = NonNullable<TicketDetailQuery["ticket"]>;

/** What the notice says when someone else changed the ticket on screen. */
export function changeNotice(event: LiveEvent): string {
  const who = event.actor.name;
  if (event.kind === "STATE_CHANGED" && event.toState) return `${who} just moved this ticket to “${STATE_LABELS[event.toState]}”.`;
  return `${who} just changed this ticket: ${EVENT_LABELS[event.kind].toLowerCase()}.`;
}

export function TicketPage() {
  const { id = "" } = useParams();
  const me = useMe();
  const { data, loading, error, refetch } = useQuery(TicketDetailDocument, { variables: { id } });
  const [notice, setNotice] = useState<string | null>(null);
  const clear = useCallback(() => setNotice(null), []);

  useLiveEvents((event) => {
    if (event.ticket.id !== id) return;
    void refetch();
    if (event.actor.id !== me.id) setNotice(changeNotice(event));
  });

  if (error && !data) return <ErrorNotice error={error} onRetry={() => void refetch()} />;
  if (loading && !data) return <Loading label="Loading the ticket…" />;
  const ticket = data?.ticket;
  if (!ticket) {
    return (
      <div>
        <h1>Ticket not found</h1>
        <p>This ticket does not exist, or you do not have access to it.</p>
        <Link to="/">Back to the dashboard</Link>
      </div>
    );
  }
  return (
    <article className="ticket-page">
      {notice && <Notice onDone={clear}>{notice}</Notice>}
      <header className="ticket-head">
        <h1>
          Ticket #{ticket.number} <StateBadge state={ticket.state} />
        </h1>
        <TicketActions ticket={ticket} />
      </header>
      {error && <ErrorNotice error={error} />}
      <dl className="facts">
        <dt>Faculty member</dt>
        <dd>{ticket.owner.name}</dd>
        <dt>Cycle</dt>
        <dd>{ticket.cycle}</dd>
        <dt>Funding</dt>
        <dd>{RESIDENCY_LABELS[ticket.residency]}</dd>
        <dt>Applicant</dt>
        <dd>
          {ticket.applicant ? (
            <>
              {ticket.applicant.name} ({ticket.applicant.applicantNumber})
              {ticket.applicant.email && <> · {ticket.applicant.email}</>}
            </>
          ) : (
            <span className="muted">None yet</span>
          )}
        </dd>
        <dt>Response due</dt>
        <dd>
          <ResponseDate ticket={ticket} />
        </dd>
        <dt>Supervisors</dt>
        <dd>{ticket.supervisors.length ? ticket.supervisors.map((s) => s.name).join(", ") : <span className="muted">None yet</span>}</dd>
        <dt>Issued</dt>
        <dd>
          {formatDateTime(ticket.createdAt)} by {ticket.createdBy.name}
        </dd>
      </dl>
      <Notes ticket={ticket} />
      <History ticket={ticket} />
      <Emails ticket={ticket} />
    </article>
  );
}

function Notes({ ticket }: { ticket: Ticket }) {
  const id = useId();
  const [add, { loading }] = useMutation(AddNoteDocument, { refetchQueries: ["TicketDetail"] });
  const [body, setBody] = useState("");
  const [error, setError] = useState<UserError | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await add({ variables: { ticketId: ticket.id, body: body.trim() } });
      setBody("");
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <section aria-labelledby={`${id}-title`} className="notes">
      <h2 id={`${id}-title`}>Notes</h2>
      {ticket.notes.length === 0 && <p className="muted">No notes yet.</p>}
      <ul className="note-list">
        {ticket.notes.map((note) => (
          <NoteItem key={note.id} note={note} />
        ))}
      </ul>
      <form onSubmit={submit} className="panel">
        <label htmlFor={`${id}-body`}>Add a note</label>
        <textarea id={`${id}-body`} value={body} onChange={(e) => setBody(e.target.value)} rows={3} required />
        {error && <ErrorNotice error={error} />}
        <div className="buttons">
          <button type="submit" className="primary" disabled={loading || !body.trim()}>
            {loading ? "Adding…" : "Add note"}
          </button>
        </div>
      </form>
    </section>
  );
}

function NoteItem({ note }: { note: NoteFieldsFragment }) {
  const me = useMe();
  const id = useId();
  const options = { refetchQueries: ["TicketDetail"] };
  const [edit, editing] = useMutation(EditNoteDocument, options);
  const [remove, removing] = useMutation(DeleteNoteDocument, options);
  const [resolve, resolving] = useMutation(ResolveNoteDocument, options);
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<UserError | null>(null);
  const own = note.author.id === me.id;
  const busy = editing.loading || removing.loading || resolving.loading;

  const attempt = async (run: () => Promise<unknown>) => {
    setError(null);
    try {
      await run();
      return true;
    } catch (err) {
      setError(describeError(err));
      return false;
    }
  };
  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (draft !== null && (await attempt(() => edit({ variables: { noteId: note.id, body: draft.trim() } })))) setDraft(null);
  };

  return (
    <li className={note.resolved ? "note resolved" : "note"}>
      <div className="note-meta">
        <strong>{note.author.name}</strong> · {formatDateTime(note.createdAt)}
        {note.editedAt && <> · edited</>}
        {note.resolved && <span className="badge">Resolved{note.resolvedBy ? ` by ${note.resolvedBy.name}` : ""}</span>}
      </div>
      {draft === null ? (
        <p className="note-body">{note.body}</p>
      ) : (
        <form onSubmit={save}>
          <label htmlFor={`${id}-edit`} className="visually-hidden">
            Edit the note
          </label>
          <textarea id={`${id}-edit`} value={draft} onChange={(e) => setDraft(e.target.value)} rows={3} required autoFocus />
          <div className="buttons">
            <button type="submit" className="primary" disabled={busy}>
              Save
            </button>
            <button type="button" onClick={() => setDraft(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {draft === null && (
        <div className="buttons small">
          <button type="button" disabled={busy} onClick={() => void attempt(() => resolve({ variables: { noteId: note.id, resolved: !note.resolved } }))}>
            {note.resolved ? "Reopen" : "Resolve"}
          </button>
          {own && (
            <>
              <button type="button" disabled={busy} onClick={() => setDraft(note.body)}>
                Edit
              </button>
              <button
                type="button"
                className="danger"
                disabled={busy}
                onClick={() => {
                  if (window.confirm("Delete this note?")) void attempt(() => remove({ variables: { noteId: note.id } }));
                }}
              >
                Delete
              </button>
            </>
          )}
        </div>
      )}
      {error && <ErrorNotice error={error} />}
    </li>
  );
}

function History({ ticket }: { ticket: Ticket }) {
  const id = useId();
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>History</h2>
      <ol className="history">
        {ticket.history.map((event) => (
          <li key={event.id}>
            <time dateTime={event.at}>{formatDateTime(event.at)}</time> <strong>{event.actor.name}</strong>:{" "}
            {event.kind === "STATE_CHANGED" && event.toState
              ? `${event.fromState ? STATE_LABELS[event.fromState] : "—"} → ${STATE_LABELS[event.toState]}`
              : EVENT_LABELS[event.kind]}
            {event.detail && <span className="muted"> — {event.detail}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Emails({ ticket }: { ticket: Ticket }) {
  const id = useId();
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Emails sent</h2>
      {ticket.notifications.length === 0 ? (
        <p className="muted">No emails about this ticket yet.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Emails about this ticket</caption>
            <thead>
              <tr>
                <th scope="col">To</th>
                <th scope="col">Subject</th>
                <th scope="col">Status</th>
                <th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {ticket.notifications.map((n) => (
                <tr key={n.id}>
                  <td>{n.recipient.name}</td>
                  <td>{n.subject}</td>
                  <td>
                    {NOTIFICATION_LABELS[n.status]}
                    {n.status === "FAILED" && n.lastError && <span className="muted"> ({n.lastError})</span>}
                  </td>
                  <td>{formatDateTime(n.sentAt ?? n.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
