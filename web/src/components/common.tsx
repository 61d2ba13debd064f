// Small pieces every page uses: the loading state, error messages in words, state badges,
// a short-lived notice.
import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from "react";
import { describeError, type UserError } from "../errors";
import type { TicketRowFragment, TicketState } from "../generated/graphql";
import { STATE_LABELS, formatDate } from "../labels";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

/** An error as a sentence; `error` is anything a request ended with, or an already described one. */
export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  const described = isUserError(error) ? error : describeError(error);
  return (
    <div className="error" role="alert">
      <span>{described.message}</span>
      {/* The same input would fail the same way: only the person can fix it. */}
      {onRetry && described.code !== "BAD_USER_INPUT" && (
        <button type="button" className="link" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function isUserError(value: unknown): value is UserError {
  return typeof value === "object" && value !== null && "message" in value && "code" in value && !(value instanceof Error);
}

/** When a ticket is due, with a badge once it is overdue; a dash when nothing is due. */
export function DueDate({ ticket }: { ticket: Pick<TicketRowFragment, "dueAt" | "overdue"> }) {
  if (!ticket.dueAt) return <span className="muted">—</span>;
  return (
    <span className="due">
      <time dateTime={ticket.dueAt}>{formatDate(ticket.dueAt)}</time>
      {ticket.overdue && <span className="badge overdue">Overdue</span>}
    </span>
  );
}

export function StateBadge({ state }: { state: TicketState }) {
  return <span className={`badge state-${state.toLowerCase()}`}>{STATE_LABELS[state]}</span>;
}

/** A polite announcement that goes away by itself after `ms`. */
export function Notice({ children, onDone, ms = 8000 }: { children: ReactNode; onDone(): void; ms?: number }) {
  useEffect(() => {
    const timer = setTimeout(onDone, ms);
    return () => clearTimeout(timer);
  }, [onDone, ms]);
  return (
    <div className="notice" role="status" aria-live="polite">
      <span>{children}</span>
      <button type="button" className="link" onClick={onDone} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}

/**
 * A form's error, and what a form needs to show it: `fieldError(name)` for the field the
 * error is about, and `onEdit` for the form's `onChange`, which drops the error once the
 * person changes that field (inputs carry the schema's field name as their `name`).
 */
export function useFormError() {
  const [error, setError] = useState<UserError | null>(null);
  const fieldError = (field: string) => (error?.field === field ? error.message : undefined);
  const onEdit = useCallback((event: FormEvent) => {
    const name = (event.target as { name?: unknown }).name;
    setError((current) => (current?.field !== undefined && current.field === name ? null : current));
  }, []);
  return { error, setError, fieldError, onEdit };
}

/** A labelled form field; the error (when it is about this field) is tied to the input. */
export function Field({
  id,
  label,
  error,
  hint,
  children,
}: {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  children: ReactNode;
}) {
  return (
    <div className={error ? "field invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} className="field-error">
          {error}
        </small>
      )}
    </div>
  );
}

/**
 * A form's error: an error about one field is shown by that field (and announced here to
 * screen readers); any other is shown here.
 */
export function FormError({ error }: { error: UserError | null }) {
  if (!error) return null;
  if (error.field) {
    return (
      <p className="visually-hidden" role="alert">
        {error.message}
      </p>
    );
  }
  return <ErrorNotice error={error} />;
}

/** Checkboxes choosing some of `options` (supervisors, the faculty an FSS supports, roles). */
export function Checkboxes({
  legend,
  options,
  value,
  onChange,
  children,
}: {
  legend: string;
  options: readonly { id: string; name: string }[];
  value: readonly string[];
  onChange(ids: string[]): void;
  children?: ReactNode;
}) {
  return (
    <fieldset className="checkboxes">
      <legend>{legend}</legend>
      {children}
      {options.map((option) => (
        <label key={option.id}>
          <input
            type="checkbox"
            checked={value.includes(option.id)}
            onChange={(e) => onChange(e.target.checked ? [...value, option.id] : value.filter((id) => id !== option.id))}
          />
          {option.name}
        </label>
      ))}
    </fieldset>
  );
}
