// The GraphQL playground at /graphiql: GraphiQL (pinned in package.json) built into the
// bundle, so it runs without any outside host and under a CSP that allows only this origin's
// scripts. Queries and mutations go to `POST /graphql`, subscriptions over the same
// `graphql-transport-ws` websocket the app uses; both carry the session cookie.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createClient } from "graphql-ws";
import { websocketUrl } from "../websocket";
import "./graphiql.css";

const fetcher = createGraphiQLFetcher({
  url: "/graphql",
  wsClient: createClient({ url: websocketUrl(window.location), lazy: true }),
});

const DEFAULT_QUERY = `# Tessera's GraphQL API, as the signed-in user.
# Ctrl-Enter runs the operation; the Docs button lists every type.
query Totals {
  ticketStats {
    total
    byState {
      state
      count
    }
  }
}
`;

const root = document.getElementById("graphiql");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} />
    </StrictMode>,
  );
}
