// "Request an offer": the applicant (name, number, email) and the other interested faculty.
import { useApolloClient, useMutation, useQuery } from "@apollo/client";
import { useId, useState, type FormEvent } from "react";
import { describeError } from "../errors";
import { RequestOfferDocument, UsersDocument, type TicketRowFragment } from "../generated/graphql";
import { TICKET_QUERIES, onScreen } from "../refresh";
import { ErrorNotice, Field, FormError, Checkboxes, useFormError } from "./common";

/** `onDone(true)` once the request is sent, `onDone(false)` when the person cancels. */
export function RequestOfferForm({ ticket, onDone }: { ticket: TicketRowFragment; onDone(sent: boolean): void }) {
  const id = useId();
  const client = useApolloClient();
  const faculty = useQuery(UsersDocument, { variables: { role: "FACULTY" } });
  const [requestOffer, { loading }] = useMutation(RequestOfferDocument, { refetchQueries: () => onScreen(client, TICKET_QUERIES) });
  const [name, setName] = useState("");
  const [number, setNumber] = useState("");
  const [email, setEmail] = useState("");
  const [supervisors, setSupervisors] = useState<string[]>([]);
  const { error, setError, fieldError, onEdit } = useFormError();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await requestOffer({
        variables: {
          input: {
            ticketId: ticket.id,
            applicant: { name: name.trim(), applicantNumber: number.trim(), email: email.trim() || null },
            supervisorIds: supervisors,
            expectedVersion: ticket.version,
          },
        },
      });
      onDone(true);
    } catch (err) {
      setError(describeError(err));
    }
  };

  const others = (faculty.data?.users ?? []).filter((u) => u.id !== ticket.owner.id && u.active);

  return (
    <form className="panel request-offer" onSubmit={submit} onChange={onEdit} aria-label={`Request an offer on ticket #${ticket.number}`}>
      <h3>Request an offer on ticket #{ticket.number}</h3>
      <div className="grid">
        <Field id={`${id}-name`} label="Applicant name" error={fieldError("name")}>
          <input id={`${id}-name`} name="name" value={name} onChange={(e) => setName(e.target.value)} required autoComplete="off" />
        </Field>
        <Field id={`${id}-number`} label="Applicant number" error={fieldError("applicantNumber")}>
          <input id={`${id}-number`} name="applicantNumber" value={number} onChange={(e) => setNumber(e.target.value)} required autoComplete="off" />
        </Field>
        <Field id={`${id}-email`} label="Applicant email (optional)" error={fieldError("email")}>
          <input id={`${id}-email`} name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" />
        </Field>
      </div>
      <Checkboxes
        legend={`Other supervisors (${ticket.owner.name} is always one)`}
        options={others}
        value={supervisors}
        onChange={setSupervisors}
      >
        {faculty.loading && !faculty.data && <span className="muted">Loading faculty…</span>}
        {faculty.error && <ErrorNotice error={faculty.error} />}
      </Checkboxes>
      <FormError error={error} />
      <div className="buttons">
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Sending…" : "Send request"}
        </button>
        <button type="button" onClick={() => onDone(false)} disabled={loading}>
          Cancel
        </button>
      </div>
    </form>
  );
}
