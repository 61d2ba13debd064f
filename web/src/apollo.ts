// The Apollo client: queries and mutations over `POST /graphql` with the session cookie,
// subscriptions over the `graphql-transport-ws` websocket at the same path. Any
// UNAUTHENTICATED answer, or the socket closing with 4403, ends the session in the UI.
import { ApolloClient, HttpLink, InMemoryCache, from, split } from "@apollo/client";
import { onError } from "@apollo/client/link/error";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient, type Client } from "graphql-ws";
import { isUnauthenticated } from "./errors";
import { websocketUrl } from "./websocket";

export { websocketUrl };

/** Close code the gateway uses when the socket's session is missing or over. */
export const CLOSE_SESSION_ENDED = 4403;

export interface ClientHooks {
  /** The server says the caller is not signed in (any more). */
  onUnauthenticated(): void;
  /** The websocket opened (`closed` with the close code when it went away). */
  onSocket(event: "connected" | "closed", code?: number): void;
}

export function createCache(): InMemoryCache {
  return new InMemoryCache({
    typePolicies: {
      // Objects without ids that a refetch replaces whole.
      TicketStats: { merge: false },
      TicketConnection: { merge: false },
      InboxConnection: { merge: false },
      PageInfo: { merge: false },
    },
  });
}

export function createApollo(
  hooks: ClientHooks,
  /** The WebSocket class (tests give a fake); the browser's by default. */
  webSocketImpl?: unknown,
): { client: ApolloClient<object>; socket: Client } {
  const http = new HttpLink({ uri: "/graphql", credentials: "same-origin" });
  const socket = createClient({
    url: websocketUrl(window.location),
    lazy: true,
    // The live feed resubscribes itself, with `after`, so nothing is lost in a gap.
    retryAttempts: 0,
    keepAlive: 15_000,
    webSocketImpl,
    on: {
      connected: () => hooks.onSocket("connected"),
      closed: (event) => {
        const code = (event as CloseEvent | undefined)?.code;
        if (code === CLOSE_SESSION_ENDED) hooks.onUnauthenticated();
        hooks.onSocket("closed", code);
      },
    },
  });
  const errors = onError(({ graphQLErrors, networkError }) => {
    const status = (networkError as { statusCode?: number } | null)?.statusCode;
    if (isUnauthenticated(graphQLErrors) || status === 401) hooks.onUnauthenticated();
  });
  const transport = split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(socket),
    http,
  );
  const client = new ApolloClient({
    link: from([errors, transport]),
    cache: createCache(),
    defaultOptions: { watchQuery: { fetchPolicy: "cache-and-network", errorPolicy: "none" } },
  });
  return { client, socket };
}
