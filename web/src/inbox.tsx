// The inbox's unread count, live: one `inboxUnreadCount` subscription for the app, through a
// LiveFeed (live.ts) so it reconnects as the ticket feed does; the server sends the count
// afresh on every subscription, so nothing needs resuming. The bell and the inbox page read
// it from here.
import { useApolloClient } from "@apollo/client";
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { InboxUnreadCountDocument } from "./generated/graphql";
import { LiveFeed, type Subscribe } from "./live";
import type { SocketSignals } from "./liveContext";

/** One message of the count's subscription: no id, so nothing to resume from. */
interface Count {
  id?: undefined;
  count: number;
}

/** The unread count; null until the server said. */
export const InboxContext = createContext<number | null>(null);

export function useInboxUnread(): number | null {
  return useContext(InboxContext);
}

export function InboxProvider({ children, signals }: { children: ReactNode; signals: SocketSignals }) {
  const client = useApolloClient();
  const [unread, setUnread] = useState<number | null>(null);
  useEffect(() => {
    const subscribe: Subscribe<Count> = (_after, sink) => {
      const subscription = client.subscribe({ query: InboxUnreadCountDocument }).subscribe({
        next: (result) => {
          if (result.data) sink.next({ count: result.data.inboxUnreadCount });
          else sink.error(result.errors);
        },
        error: (error) => sink.error(error),
        complete: () => sink.complete(),
      });
      return () => subscription.unsubscribe();
    };
    const feed = new LiveFeed<Count>({
      subscribe,
      onEvent: (message) => setUnread(message.count),
      // Once the session is over the feed stops instead of reconnecting.
      sessionEnded: () => signals.sessionEnded,
    });
    feed.start();
    return () => feed.stop();
  }, [client, signals]);
  return <InboxContext.Provider value={unread}>{children}</InboxContext.Provider>;
}
