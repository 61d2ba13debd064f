// The GraphQL playground at /graphiql: GraphiQL (pinned in package.json) built into the
// bundle, so it runs without any outside host and under a CSP that allows only this origin's
// scripts. Queries and mutations go to `POST /graphql`, subscriptions over the same
// `graphql-transport-ws` websocket the app uses; both carry the session cookie.
import { createGraphiQLFetcher, type Fetcher } from "@graphiql/toolkit";
import { Kind, parse, type OperationDefinitionNode } from "graphql";
import { GraphiQL } from "graphiql";
import "graphiql/graphiql.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createClient } from "graphql-ws";
import { websocketUrl } from "../websocket";
import "./graphiql.css";

const send = createGraphiQLFetcher({
  url: "/graphql",
  wsClient: createClient({ url: websocketUrl(window.location), lazy: true }),
});

/**
 * GraphiQL works out the operation's name and document 100 ms after an edit, and the fetcher
 * picks HTTP or the websocket by them: a run sooner than that (a paste, then Ctrl-Enter) sent
 * the new text with the old name, and a subscription over HTTP. Both are read here from the
 * text actually sent.
 */
const fetcher: Fetcher = (params, options) => {
  let documentAST;
  try {
    documentAST = parse(params.query);
  } catch {
    return send(params, options);
  }
  const operations = documentAST.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const named = operations.some((o) => o.name?.value === params.operationName);
  const operationName = operations.length === 1 && !named ? (operations[0].name?.value ?? null) : params.operationName;
  return send({ ...params, operationName }, { ...options, documentAST });
};

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

/**
 * CodeMirror's input of each editor is a bare textarea, and its scrolling box takes no focus:
 * each input gets the name of the section around it ("Query Editor", "Variables", "Result
 * Window") and each scrolling box a place in the tab order, as editors come and go.
 */
function labelEditors(container: HTMLElement) {
  const label = () => {
    for (const input of container.querySelectorAll<HTMLTextAreaElement>(".CodeMirror textarea:not([aria-label])")) {
      const section = input.closest(".CodeMirror")?.parentElement?.closest("[aria-label]");
      input.setAttribute("aria-label", section?.getAttribute("aria-label") ?? "Editor");
    }
    for (const scroller of container.querySelectorAll<HTMLElement>(".CodeMirror-scroll")) {
      if (scroller.tabIndex < 0) scroller.tabIndex = 0;
    }
  };
  new MutationObserver(label).observe(container, { childList: true, subtree: true });
  label();
}

const root = document.getElementById("graphiql");
if (root) {
  labelEditors(root);
  createRoot(root).render(
    <StrictMode>
      <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY}>
        {/* Instead of GraphiQL's logo (a link to its project's site, on another host): the way back to the app. */}
        <GraphiQL.Logo>
          <a href="/">Tessera</a> GraphiQL
        </GraphiQL.Logo>
      </GraphiQL>
    </StrictMode>,
  );
}
