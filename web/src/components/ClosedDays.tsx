// The administrator's calendar of closed days: the days besides weekends that do not count
// toward the business-day targets of waiting tickets (reminders and escalations).
import { useMutation, useQuery } from "@apollo/client";
import { useId, useState, type FormEvent } from "react";
import { describeError } from "../errors";
import { AddClosedDayDocument, ClosedDaysDocument, RemoveClosedDayDocument } from "../generated/graphql";
import { ErrorNotice, Field, FormError, Loading, Notice, useFormError } from "./common";

const REFRESH = ["ClosedDays"];

/** A `YYYY-MM-DD` day as people read it, with its weekday ("Mon 27 Dec 2027"); the day itself, never shifted by the reader's zone. */
export function dayLabel(date: string): string {
  const [y, m, d] = date.split("-").map(Number);
  const at = new Date(Date.UTC(y, m - 1, d, 12));
  return at.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
}

export function ClosedDays() {
  const id = useId();
  const days = useQuery(ClosedDaysDocument);
  const list = days.data?.closedDays ?? [];
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Closed days</h2>
      <p>Weekends and these days do not count toward the business-day targets of waiting tickets.</p>
      <AddClosedDayForm />
      {days.error && <ErrorNotice error={days.error} onRetry={() => void days.refetch()} />}
      {days.loading && !days.data && <Loading label="Loading closed days…" />}
      {days.data && list.length === 0 && <p className="muted">No closed days.</p>}
      {list.length > 0 && (
        <ul className="closed-days">
          {list.map((day) => (
            <ClosedDayRow key={day.date} date={day.date} label={day.label} />
          ))}
        </ul>
      )}
    </section>
  );
}

function ClosedDayRow({ date, label }: { date: string; label: string }) {
  const [remove, { loading, error }] = useMutation(RemoveClosedDayDocument, { refetchQueries: REFRESH });
  return (
    <li>
      <time dateTime={date}>{dayLabel(date)}</time> {label}{" "}
      <button type="button" className="link" disabled={loading} onClick={() => void remove({ variables: { date } }).catch(() => {})}>
        Remove<span className="visually-hidden"> {date}</span>
      </button>
      {error && <ErrorNotice error={error} />}
    </li>
  );
}

function AddClosedDayForm() {
  const id = useId();
  const [add, { loading }] = useMutation(AddClosedDayDocument, { refetchQueries: REFRESH });
  const [date, setDate] = useState("");
  const [label, setLabel] = useState("");
  const { error, setError, fieldError, onEdit } = useFormError();
  const [done, setDone] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await add({ variables: { date, label: label.trim() } });
      setDone(`Closed on ${dayLabel(date)}.`);
      setDate("");
      setLabel("");
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <form className="panel" onSubmit={submit} onChange={onEdit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Add a closed day</h3>
      <div className="grid">
        <Field id={`${id}-date`} label="Day" error={fieldError("date")}>
          <input id={`${id}-date`} name="date" type="date" value={date} onChange={(e) => setDate(e.target.value)} required />
        </Field>
        <Field id={`${id}-label`} label="Label" error={fieldError("label")}>
          <input
            id={`${id}-label`}
            name="label"
            value={label}
            onChange={(e) => setLabel(e.target.value)}
            placeholder="Winter closure"
            required
            autoComplete="off"
          />
        </Field>
      </div>
      <FormError error={error} />
      <div className="buttons">
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Adding…" : "Add closed day"}
        </button>
      </div>
      {done && <Notice onDone={() => setDone(null)}>{done}</Notice>}
    </form>
  );
}
