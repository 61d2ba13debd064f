// A list of tickets as a table (scrolls sideways on a narrow screen); each number links to
// the ticket's page.
import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import type { TicketRowFragment } from "../generated/graphql";
import { RESIDENCY_LABELS, formatDateTime } from "../labels";
import { DueDate, StateBadge } from "./common";

export function TicketTable({
  tickets,
  caption,
  actions,
  empty = "No tickets.",
  ownerNote,
}: {
  tickets: readonly TicketRowFragment[];
  caption: string;
  actions?: (ticket: TicketRowFragment) => ReactNode;
  empty?: string;
  /** Said next to the faculty member's name, e.g. why the ticket is in this list. */
  ownerNote?: (ticket: TicketRowFragment) => ReactNode;
}) {
  if (tickets.length === 0) return <p className="muted">{empty}</p>;
  return (
    <div className="table-scroll">
      <table className="tickets cards">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Ticket</th>
            <th scope="col">State</th>
            <th scope="col">Faculty member</th>
            <th scope="col">Applicant</th>
            <th scope="col">Cycle</th>
            <th scope="col">Funding</th>
            <th scope="col">Response due</th>
            <th scope="col">Updated</th>
            {actions && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {tickets.map((t) => (
            <tr key={t.id} data-ticket={t.number}>
              <td data-label="Ticket">
                <Link to={`/tickets/${t.id}`}>#{t.number}</Link>
              </td>
              <td data-label="State">
                <StateBadge state={t.state} />
              </td>
              <td data-label="Faculty member">
                <span>
                  {t.owner.name}
                  {ownerNote?.(t)}
                </span>
              </td>
              <td data-label="Applicant">{t.applicant ? `${t.applicant.name} (${t.applicant.applicantNumber})` : <span className="muted">—</span>}</td>
              <td data-label="Cycle">{t.cycle}</td>
              <td data-label="Funding">{RESIDENCY_LABELS[t.residency]}</td>
              <td data-label="Response due">
                <DueDate ticket={t} />
              </td>
              <td data-label="Updated">{formatDateTime(t.updatedAt)}</td>
              {actions && (
                <td className="actions" data-label="Actions">
                  {actions(t)}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
