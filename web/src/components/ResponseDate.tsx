// The date an applicant must answer an offer by, on the ticket's page: shown to everyone who
// sees the ticket, changed by the graduate office while the offer is out.
import { useApolloClient, useMutation } from "@apollo/client";
import { useId, useState, type FormEvent } from "react";
import { describeError, type UserError } from "../errors";
import { SetResponseDeadlineDocument, type TicketRowFragment } from "../generated/graphql";
import { TICKET_QUERIES, onScreen } from "../refresh";
import { useMe } from "../session";
import { DueDate, ErrorNotice } from "./common";

type Dated = Pick<TicketRowFragment, "id" | "state" | "version" | "dueAt" | "overdue">;

/** `YYYY-MM-DD` of `value` in the reader's time zone, for a date input. */
export function dayOf(value: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`;
}

/** The end of day `day` (`YYYY-MM-DD`) in the reader's time zone, as the API's DateTime. */
export function endOfDay(day: string): string {
  return new Date(`${day}T23:59:59`).toISOString();
}

export function ResponseDate({ ticket }: { ticket: Dated }) {
  const me = useMe();
  const may = ticket.state === "OFFER_PENDING" && me.roles.includes("GRAD_OFFICE");
  const [open, setOpen] = useState(false);
  if (!ticket.dueAt && !may) return <span className="muted">Nothing awaited</span>;
  return (
    <>
      <DueDate ticket={ticket} />
      {may && !open && (
        <button type="button" className="link" onClick={() => setOpen(true)}>
          Change the response date
        </button>
      )}
      {may && open && <ChangeForm ticket={ticket} onDone={() => setOpen(false)} />}
    </>
  );
}

function ChangeForm({ ticket, onDone }: { ticket: Dated; onDone(): void }) {
  const id = useId();
  const [day, setDay] = useState(ticket.dueAt ? dayOf(new Date(ticket.dueAt)) : "");
  const [error, setError] = useState<UserError | null>(null);
  const client = useApolloClient();
  const [save, { loading }] = useMutation(SetResponseDeadlineDocument, { refetchQueries: () => onScreen(client, TICKET_QUERIES) });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await save({ variables: { ticketId: ticket.id, responseDueAt: endOfDay(day), expectedVersion: ticket.version } });
      onDone();
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <form onSubmit={submit} className="inline-form">
      <label htmlFor={`${id}-day`}>The applicant answers by (end of day)</label>
      <input id={`${id}-day`} type="date" value={day} min={dayOf(new Date())} onChange={(e) => setDay(e.target.value)} required />
      {error && <ErrorNotice error={error} />}
      <div className="buttons">
        <button type="submit" className="primary" disabled={loading || !day}>
          {loading ? "Saving…" : "Save the date"}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
