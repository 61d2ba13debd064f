// Words people read for the schema's enum values.
import type {
  ExportStatus,
  NotificationStatus,
  Residency,
  Role,
  TicketEventKind,
  TicketState,
  WebhookDeliveryStatus,
} from "./generated/graphql";

export const STATE_LABELS: Record<TicketState, string> = {
  INITIAL: "Issued",
  GRANTED: "Granted",
  OFFER_REQUESTED: "Offer requested",
  OFFER_PENDING: "Offer pending",
  OFFER_ACCEPTED: "Offer accepted",
  OFFER_REFUSED: "Offer refused",
  CANCELLED: "Cancelled",
};

/** Every state, in workflow order. */
export const STATES = Object.keys(STATE_LABELS) as TicketState[];

export const ROLE_LABELS: Record<Role, string> = {
  BUDGET_DIRECTOR: "Budget director",
  FACULTY: "Faculty",
  FSS: "Faculty support",
  ASSOCIATE_CHAIR: "Associate chair (graduate)",
  GRAD_OFFICE: "Graduate office",
  ADMIN: "Administrator",
};

export const ROLES = Object.keys(ROLE_LABELS) as Role[];

export const RESIDENCY_LABELS: Record<Residency, string> = {
  DOMESTIC: "Domestic",
  INTERNATIONAL: "International",
};

export const EVENT_LABELS: Record<TicketEventKind, string> = {
  CREATED: "Issued",
  STATE_CHANGED: "State changed",
  APPLICANT_SET: "Applicant named",
  SUPERVISORS_CHANGED: "Supervisors changed",
  NOTE_ADDED: "Note added",
  NOTE_EDITED: "Note edited",
  NOTE_DELETED: "Note deleted",
  NOTE_RESOLVED: "Note resolved or reopened",
  DEADLINE_CHANGED: "Response date changed",
  DEADLINE_REMINDER: "Response date reminder",
  DEADLINE_PASSED: "Response date passed",
  WAITING_REMINDER: "Waiting too long",
  WAITING_ESCALATED: "Escalated",
};

export const EXPORT_LABELS: Record<ExportStatus, string> = {
  QUEUED: "Waiting to start",
  RUNNING: "Writing",
  DONE: "Ready",
  FAILED: "Failed",
};

export const NOTIFICATION_LABELS: Record<NotificationStatus, string> = {
  QUEUED: "Waiting",
  SENT: "Sent",
  FAILED: "Failed",
  SUPPRESSED: "Not sent (email off)",
  DIGEST: "In the daily or weekly digest",
};

export const DELIVERY_LABELS: Record<WebhookDeliveryStatus, string> = {
  PENDING: "Waiting",
  RETRYING: "Retrying",
  DELIVERED: "Delivered",
  FAILED: "Failed",
};

const dateTime = new Intl.DateTimeFormat("en-CA", {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

const dateOnly = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "short", day: "numeric" });

/** A server timestamp as a day, in the reader's time zone. */
export function formatDate(value: string): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : dateOnly.format(date);
}

/** A server timestamp (RFC 3339) in the reader's time zone. */
export function formatDateTime(value: string): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : dateTime.format(date);
}
