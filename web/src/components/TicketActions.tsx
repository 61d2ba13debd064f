// The buttons of a ticket's `allowedTransitions`, and what each needs before it runs: a reason
// (cancel, decline, withdraw), the offer form, the applicant's response date (approve), or a yes
// to a question when the move cannot be taken back. Every move sends `expectedVersion`, so a change someone else made in between is
// reported instead of overwritten; a move done is reported in words (the row may leave the
// list at once).
import { useApolloClient } from "@apollo/client";
import { useId, useState, type FormEvent } from "react";
import { useLocation } from "react-router-dom";
import { describeError, type UserError } from "../errors";
import {
  ApproveOfferDocument,
  CancelTicketDocument,
  DeclineOfferDocument,
  GrantTicketDocument,
  RecordOfferResponseDocument,
  WithdrawOfferRequestDocument,
  type TicketRowFragment,
} from "../generated/graphql";
import { TICKET_QUERIES, onScreen } from "../refresh";
import { useFlash } from "../flash";
import { useMe } from "../session";
import { moveQuestion, moveReport, ticketActions, type TicketAction } from "../transitions";
import { ErrorNotice, Field } from "./common";
import { RequestOfferForm } from "./RequestOfferForm";
import { dayOf, endOfDay } from "./ResponseDate";

/** The response date an approval proposes: two weeks ahead, as the server's default. */
export function defaultResponseDay(): string {
  return dayOf(new Date(Date.now() + 14 * 24 * 3600 * 1000));
}

export function TicketActions({ ticket, onMoved }: { ticket: TicketRowFragment; onMoved?(action: TicketAction): void }) {
  const me = useMe();
  const client = useApolloClient();
  const id = useId();
  const [open, setOpen] = useState<TicketAction | null>(null);
  const [reason, setReason] = useState("");
  const [day, setDay] = useState(defaultResponseDay);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UserError | null>(null);
  const flash = useFlash();
  const here = useLocation().pathname === `/tickets/${ticket.id}`;
  const actions = ticketActions(ticket.state, ticket.allowedTransitions, me, ticket.owner.id);

  if (actions.length === 0) return null;

  const run = async (action: TicketAction, why: string) => {
    setBusy(true);
    setError(null);
    const base = { ticketId: ticket.id, expectedVersion: ticket.version };
    const options = { refetchQueries: () => onScreen(client, TICKET_QUERIES), awaitRefetchQueries: true };
    try {
      switch (action.kind) {
        case "grant":
          await client.mutate({ mutation: GrantTicketDocument, variables: base, ...options });
          break;
        case "cancel":
          await client.mutate({ mutation: CancelTicketDocument, variables: { ...base, reason: why }, ...options });
          break;
        case "withdraw":
          await client.mutate({ mutation: WithdrawOfferRequestDocument, variables: { ...base, reason: why || null }, ...options });
          break;
        case "approve":
          await client.mutate({ mutation: ApproveOfferDocument, variables: { ...base, responseDueAt: endOfDay(day) }, ...options });
          break;
        case "decline":
          await client.mutate({ mutation: DeclineOfferDocument, variables: { ...base, reason: why }, ...options });
          break;
        case "accept":
        case "refuse":
          await client.mutate({
            mutation: RecordOfferResponseDocument,
            variables: { ...base, accepted: action.kind === "accept" },
            ...options,
          });
          break;
        case "requestOffer":
          return;
      }
      setOpen(null);
      setReason("");
      report(action);
      onMoved?.(action);
    } catch (err) {
      const described = describeError(err);
      setError(described);
      if (described.code === "CONFLICT" || described.code === "INVALID_TRANSITION") {
        // Show what the ticket is now, so the person can decide again.
        void client.refetchQueries({ include: onScreen(client, TICKET_QUERIES) });
      }
    } finally {
      setBusy(false);
    }
  };

  const report = (action: TicketAction) => {
    const page = `/tickets/${ticket.id}`;
    // The way back from a withdrawal is a new request, on the ticket's page.
    const link =
      action.kind === "withdraw"
        ? { to: page, label: "Request an offer again" }
        : here
          ? undefined
          : { to: page, label: `Open ticket #${ticket.number}` };
    flash({ text: moveReport(action, ticket), link });
  };

  const choose = (action: TicketAction) => {
    setError(null);
    if (action.kind === "requestOffer" || action.reason !== "none" || action.final) {
      setOpen(action);
      setReason("");
    } else {
      void run(action, "");
    }
  };

  const submitReason = (event: FormEvent) => {
    event.preventDefault();
    if (open) void run(open, reason.trim());
  };

  return (
    <div className="ticket-actions">
      <div className="buttons" role="group" aria-label={`Actions for ticket #${ticket.number}`}>
        {actions.map((action) => (
          <button
            key={action.kind}
            type="button"
            className={action.tone === "normal" ? undefined : action.tone}
            onClick={() => choose(action)}
            disabled={busy}
            aria-expanded={open?.kind === action.kind ? true : undefined}
          >
            {action.label}
          </button>
        ))}
      </div>
      {open?.kind === "requestOffer" && (
        <RequestOfferForm
          ticket={ticket}
          onDone={(sent) => {
            setOpen(null);
            if (sent) report(open);
          }}
        />
      )}
      {open && open.kind !== "requestOffer" && (
        <form className="panel confirm" onSubmit={submitReason} aria-labelledby={`${id}-question`}>
          <p id={`${id}-question`}>{moveQuestion(open, ticket)}</p>
          {open.kind === "approve" && (
            <Field id={`${id}-due`} label="The applicant answers by (end of day)">
              <input id={`${id}-due`} type="date" value={day} min={dayOf(new Date())} onChange={(e) => setDay(e.target.value)} required />
            </Field>
          )}
          {open.reason !== "none" && (
            <Field id={`${id}-reason`} label={open.reason === "required" ? "Reason" : "Reason (optional)"}>
              <textarea
                id={`${id}-reason`}
                value={reason}
                onChange={(e) => setReason(e.target.value)}
                required={open.reason === "required"}
                rows={2}
                autoFocus
              />
            </Field>
          )}
          <div className="buttons">
            <button type="submit" className={open.tone === "danger" ? "danger" : "primary"} disabled={busy} autoFocus={open.reason === "none"}>
              {busy ? "Working…" : `${open.label} #${ticket.number}`}
            </button>
            <button type="button" onClick={() => setOpen(null)} disabled={busy}>
              Back
            </button>
          </div>
        </form>
      )}
      {busy && !open && <span className="muted" role="status">Working…</span>}
      {error && <ErrorNotice error={error} />}
    </div>
  );
}
