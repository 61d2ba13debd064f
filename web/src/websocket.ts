// Where the live websocket is: `/graphql` on this page's own origin (the app and GraphiQL).

export function websocketUrl(location: Pick<Location, "protocol" | "host">): string {
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
}
