// The signed-in person's notification settings: for each kind of event (state changes, notes,
// reminders) and each channel (email, the inbox), at once, in a daily or weekly digest, or not
// at all; and the time zone, hour and weekday their digests go out at.
import { useMutation, useQuery } from "@apollo/client";
import { useId, useState, type FormEvent } from "react";
import { ErrorNotice, Field, FormError, Loading, Notice, useFormError } from "../components/common";
import { describeError } from "../errors";
import {
  NotificationPreferencesDocument,
  UpdateNotificationPreferencesDocument,
  type Cadence,
  type NotificationChannel,
  type NotificationTopic,
  type PreferencesFragment,
  type Weekday,
} from "../generated/graphql";

export const TOPICS: { topic: NotificationTopic; label: string; hint: string }[] = [
  { topic: "STATE_CHANGES", label: "State changes", hint: "A ticket granted, an offer requested, approved or answered, a new response date" },
  { topic: "NOTES", label: "Notes", hint: "A note added to a ticket you are part of" },
  { topic: "REMINDERS", label: "Reminders", hint: "A response date near or passed, a ticket waiting too long, an escalation" },
];
export const CHANNELS: { channel: NotificationChannel; label: string }[] = [
  { channel: "EMAIL", label: "Email" },
  { channel: "IN_APP", label: "Inbox" },
];
const CADENCES: { cadence: Cadence; label: string }[] = [
  { cadence: "IMMEDIATE", label: "At once" },
  { cadence: "DAILY", label: "Daily digest" },
  { cadence: "WEEKLY", label: "Weekly digest" },
  { cadence: "OFF", label: "Off" },
];
const WEEKDAYS: { day: Weekday; label: string }[] = [
  { day: "MONDAY", label: "Monday" },
  { day: "TUESDAY", label: "Tuesday" },
  { day: "WEDNESDAY", label: "Wednesday" },
  { day: "THURSDAY", label: "Thursday" },
  { day: "FRIDAY", label: "Friday" },
  { day: "SATURDAY", label: "Saturday" },
  { day: "SUNDAY", label: "Sunday" },
];

/** The zones the browser knows, with `current` among them even if it does not. */
export function zones(current: string | null): string[] {
  const known = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return current && !known.includes(current) ? [current, ...known] : known;
}

type Choices = Record<string, Cadence>;
const key = (topic: NotificationTopic, channel: NotificationChannel) => `${topic}/${channel}`;

function choicesOf(prefs: PreferencesFragment): Choices {
  return Object.fromEntries(prefs.deliveries.map((d) => [key(d.topic, d.channel), d.cadence]));
}

export function NotificationsPage() {
  const prefs = useQuery(NotificationPreferencesDocument);
  const current = prefs.data?.me?.notificationPreferences;
  return (
    <div>
      <h1>Notifications</h1>
      <p>Choose how each kind of change reaches you: at once, in one digest a day or a week, or not at all.</p>
      {prefs.error && <ErrorNotice error={prefs.error} onRetry={() => void prefs.refetch()} />}
      {prefs.loading && !prefs.data && <Loading label="Loading your settings…" />}
      {current && <PreferencesForm initial={current} />}
    </div>
  );
}

function PreferencesForm({ initial }: { initial: PreferencesFragment }) {
  const id = useId();
  const [save, { loading }] = useMutation(UpdateNotificationPreferencesDocument);
  const [choices, setChoices] = useState<Choices>(() => choicesOf(initial));
  const [timeZone, setTimeZone] = useState(initial.timeZone ?? "");
  const [digestHour, setDigestHour] = useState(initial.digestHour);
  const [digestWeekday, setDigestWeekday] = useState<Weekday>(initial.digestWeekday);
  const { error, setError, fieldError, onEdit } = useFormError();
  const [done, setDone] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const deliveries = TOPICS.flatMap(({ topic }) =>
      CHANNELS.map(({ channel }) => ({ topic, channel, cadence: choices[key(topic, channel)] ?? "IMMEDIATE" })),
    );
    try {
      await save({ variables: { deliveries, timeZone, digestHour, digestWeekday } });
      setDone("Saved.");
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <form className="panel" onSubmit={submit} onChange={onEdit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>What reaches you, and when</h2>
      <div className="table-scroll">
      <table className="preferences">
        <thead>
          <tr>
            <th scope="col">Kind of change</th>
            {CHANNELS.map(({ channel, label }) => (
              <th scope="col" key={channel}>
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {TOPICS.map(({ topic, label, hint }) => (
            <tr key={topic}>
              <th scope="row">
                {label}
                <small className="hint">{hint}</small>
              </th>
              {CHANNELS.map(({ channel, label: where }) => (
                <td key={channel}>
                  <select
                    aria-label={`${label} by ${where.toLowerCase()}`}
                    name="deliveries"
                    value={choices[key(topic, channel)] ?? "IMMEDIATE"}
                    onChange={(e) => setChoices({ ...choices, [key(topic, channel)]: e.target.value as Cadence })}
                  >
                    {CADENCES.map(({ cadence, label: when }) => (
                      <option key={cadence} value={cadence}>
                        {when}
                      </option>
                    ))}
                  </select>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <h3>Digests</h3>
      <div className="grid">
        <Field id={`${id}-zone`} label="Time zone" error={fieldError("timeZone")}>
          <select id={`${id}-zone`} name="timeZone" value={timeZone} onChange={(e) => setTimeZone(e.target.value)}>
            <option value="">The office's</option>
            {zones(initial.timeZone).map((zone) => (
              <option key={zone} value={zone}>
                {zone}
              </option>
            ))}
          </select>
        </Field>
        <Field id={`${id}-hour`} label="Hour" error={fieldError("digestHour")} hint="Daily and weekly digests go out at this hour, in your time zone.">
          <select id={`${id}-hour`} name="digestHour" value={digestHour} onChange={(e) => setDigestHour(Number(e.target.value))}>
            {Array.from({ length: 24 }, (_, hour) => (
              <option key={hour} value={hour}>
                {`${String(hour).padStart(2, "0")}:00`}
              </option>
            ))}
          </select>
        </Field>
        <Field id={`${id}-day`} label="Weekly digest on" error={fieldError("digestWeekday")}>
          <select id={`${id}-day`} name="digestWeekday" value={digestWeekday} onChange={(e) => setDigestWeekday(e.target.value as Weekday)}>
            {WEEKDAYS.map(({ day, label }) => (
              <option key={day} value={day}>
                {label}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <FormError error={error} />
      <button type="submit" disabled={loading}>
        Save
      </button>
      {done && <Notice onDone={() => setDone(null)}>{done}</Notice>}
    </form>
  );
}
