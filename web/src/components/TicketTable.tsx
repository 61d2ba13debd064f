// A list of tickets as a table (scrolls sideways on a narrow screen); each number links to
// the ticket's page.
import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import type { TicketRowFragment } from "../generated/graphql";
import { RESIDENCY_LABELS, formatDateTime } from "../labels";
import { StateBadge } from "./common";

export function TicketTable({
  tickets,
  caption,
  actions,
  empty = "No tickets.",
}: {
  tickets: readonly TicketRowFragment[];
  caption: string;
  actions?: (ticket: TicketRowFragment) => ReactNode;
  empty?: string;
}) {
  if (tickets.length === 0) return <p className="muted">{empty}</p>;
  return (
    <div className="table-scroll">
      <table className="tickets">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Ticket</th>
            <th scope="col">State</th>
            <th scope="col">Faculty member</th>
            <th scope="col">Applicant</th>
            <th scope="col">Cycle</th>
            <th scope="col">Funding</th>
            <th scope="col">Updated</th>
            {actions && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {tickets.map((t) => (
            <tr key={t.id} data-ticket={t.number}>
              <td>
                <Link to={`/tickets/${t.id}`}>#{t.number}</Link>
              </td>
              <td>
                <StateBadge state={t.state} />
              </td>
              <td>{t.owner.name}</td>
              <td>{t.applicant ? `${t.applicant.name} (${t.applicant.applicantNumber})` : <span className="muted">—</span>}</td>
              <td>{t.cycle}</td>
              <td>{RESIDENCY_LABELS[t.residency]}</td>
              <td>{formatDateTime(t.updatedAt)}</td>
              {actions && <td className="actions">{actions(t)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
