// Which of the queries a change can affect are on screen now, to refetch after it. Naming a
// query that no component is showing makes Apollo log "Unknown query named …" (message 43 of
// its production build), and there is nothing to refresh for it anyway: it is read afresh
// when it is shown again.
import type { ApolloClient } from "@apollo/client";

/** The queries whose answers a ticket's move or creation can change. */
export const TICKET_QUERIES: readonly string[] = ["Tickets", "TicketStats", "TicketDetail"];

/** Those of `names` that a mounted component is watching. */
export function onScreen(client: ApolloClient<unknown>, names: readonly string[]): string[] {
  const active = new Set([...client.getObservableQueries("active").values()].map((query) => query.queryName));
  return names.filter((name) => active.has(name));
}
