// A short list of the tickets someone acts on next, with the action buttons in each row.
import { useQuery } from "@apollo/client";
import { useId, type ReactNode } from "react";
import { TicketsDocument, type TicketFilter, type TicketOrder, type TicketRowFragment } from "../generated/graphql";
import { ErrorNotice, Loading } from "./common";
import { TicketActions } from "./TicketActions";
import { TicketTable } from "./TicketTable";

export function TicketQueue({
  title,
  filter,
  orderBy = { field: "UPDATED_AT", direction: "ASC" },
  empty,
  first = 50,
  description,
  ownerNote,
}: {
  title: string;
  filter: TicketFilter;
  orderBy?: TicketOrder;
  empty: string;
  first?: number;
  /** A sentence under the title: what the list holds. */
  description?: string;
  ownerNote?: (ticket: TicketRowFragment) => ReactNode;
}) {
  const id = useId();
  const { data, loading, error, refetch } = useQuery(TicketsDocument, { variables: { filter, orderBy, first } });
  const connection = data?.tickets;
  return (
    <section className="queue" aria-labelledby={id}>
      <h2 id={id}>
        {title}
        {connection && <span className="count">{connection.totalCount}</span>}
      </h2>
      {description && <p className="muted">{description}</p>}
      {error && <ErrorNotice error={error} onRetry={() => void refetch()} />}
      {loading && !data && <Loading />}
      {connection && (
        <>
          <TicketTable tickets={connection.nodes} caption={title} empty={empty} actions={(t) => <TicketActions ticket={t} />} ownerNote={ownerNote} />
          {connection.totalCount > connection.nodes.length && (
            <p className="muted">
              Showing the first {connection.nodes.length} of {connection.totalCount}; the Tickets page lists them all.
            </p>
          )}
        </>
      )}
    </section>
  );
}
