// The budget director issues 1..50 tickets to one faculty member for a cycle.
import { useApolloClient, useMutation, useQuery } from "@apollo/client";
import { useId, useState, type FormEvent } from "react";
import { describeError } from "../errors";
import { CreateTicketsDocument, UsersDocument, type Residency } from "../generated/graphql";
import { RESIDENCY_LABELS } from "../labels";
import { TICKET_QUERIES, onScreen } from "../refresh";
import { ErrorNotice, Field, FormError, Notice, useFormError } from "./common";

export const MAX_TICKETS = 50;

/** The admission cycle people usually issue for: next year's. */
export function defaultCycle(now = new Date()): string {
  return String(now.getFullYear() + 1);
}

/** A short account of what was issued, e.g. "Issued 3 tickets to Ada Lovelace: #41–#43." */
export function issuedMessage(numbers: number[], owner: string): string {
  const sorted = [...numbers].sort((a, b) => a - b);
  if (sorted.length === 0) return "No tickets were issued.";
  const what = sorted.length === 1 ? "1 ticket" : `${sorted.length} tickets`;
  const range = sorted.length === 1 ? `#${sorted[0]}` : `#${sorted[0]}–#${sorted[sorted.length - 1]}`;
  return `Issued ${what} to ${owner}: ${range}.`;
}

export function IssueTicketsForm() {
  const id = useId();
  const client = useApolloClient();
  const faculty = useQuery(UsersDocument, { variables: { role: "FACULTY" } });
  const [create, { loading }] = useMutation(CreateTicketsDocument, { refetchQueries: () => onScreen(client, TICKET_QUERIES) });
  const [ownerId, setOwnerId] = useState("");
  const [residency, setResidency] = useState<Residency>("DOMESTIC");
  const [cycle, setCycle] = useState(defaultCycle());
  const [count, setCount] = useState("1");
  const { error, setError, fieldError, onEdit } = useFormError();
  const [done, setDone] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setDone(null);
    // The input's min, max and step keep the count to 1..50; the server checks it again.
    try {
      const { data } = await create({ variables: { input: { ownerId, residency, cycle: cycle.trim(), count: Number(count) } } });
      const owner = faculty.data?.users.find((u) => u.id === ownerId)?.name ?? "the faculty member";
      setDone(issuedMessage((data?.createTickets ?? []).map((t) => t.number), owner));
    } catch (err) {
      setError(describeError(err));
    }
  };


  return (
    <form className="panel issue" onSubmit={submit} onChange={onEdit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Issue tickets</h2>
      <div className="grid">
        <Field id={`${id}-owner`} label="Faculty member" error={fieldError("ownerId")}>
          <select id={`${id}-owner`} name="ownerId" value={ownerId} onChange={(e) => setOwnerId(e.target.value)} required>
            <option value="">{faculty.loading ? "Loading…" : "Choose…"}</option>
            {(faculty.data?.users ?? [])
              .filter((u) => u.active)
              .map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
          </select>
        </Field>
        <Field id={`${id}-residency`} label="Funding">
          <select id={`${id}-residency`} value={residency} onChange={(e) => setResidency(e.target.value as Residency)}>
            {Object.entries(RESIDENCY_LABELS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </Field>
        <Field id={`${id}-cycle`} label="Cycle" error={fieldError("cycle")} hint="Four digits, e.g. 2027">
          <input id={`${id}-cycle`} name="cycle" value={cycle} onChange={(e) => setCycle(e.target.value)} required inputMode="numeric" />
        </Field>
        <Field id={`${id}-count`} label="Number of tickets" error={fieldError("count")}>
          <input
            id={`${id}-count`}
            name="count"
            type="number"
            min={1}
            max={MAX_TICKETS}
            value={count}
            onChange={(e) => setCount(e.target.value)}
            required
          />
        </Field>
      </div>
      {faculty.error && <ErrorNotice error={faculty.error} />}
      <FormError error={error} />
      <div className="buttons">
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Issuing…" : "Issue"}
        </button>
      </div>
      {done && <Notice onDone={() => setDone(null)}>{done}</Notice>}
    </form>
  );
}
