// The app's one live feed (live.ts) wired to Apollo: every ticket event refreshes the cache's
// copy of its ticket (the event carries the row), then the lists and counts on screen are
// refetched, and listeners (the ticket page) hear of it.
import { useApolloClient } from "@apollo/client";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { TicketEventsDocument, type TicketEventsSubscription } from "./generated/graphql";
import { LiveFeed, type LiveStatus } from "./live";
import { onScreen } from "./refresh";

export type LiveEvent = TicketEventsSubscription["ticketEvents"];
type Listener = (event: LiveEvent) => void;

interface LiveValue {
  status: LiveStatus;
  listen(listener: Listener): () => void;
}

const LiveContext = createContext<LiveValue>({ status: "ended", listen: () => () => {} });

export function useLiveStatus(): LiveStatus {
  return useContext(LiveContext).status;
}

/** Calls `listener` for every ticket event while the component is mounted. */
export function useLiveEvents(listener: Listener): void {
  const { listen } = useContext(LiveContext);
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => listen((event) => ref.current(event)), [listen]);
}

/** What the socket hooks of the Apollo client tell the feed. */
export interface SocketSignals {
  connected?: () => void;
  sessionEnded: boolean;
}

/** Queries whose answers a ticket event can change (list membership, counts). */
const REFRESHED = ["Tickets", "TicketStats"];

export function LiveProvider({ children, signals }: { children: ReactNode; signals: SocketSignals }) {
  const client = useApolloClient();
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const listeners = useRef(new Set<Listener>());
  const listen = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const value = useMemo<LiveValue>(() => ({ status, listen }), [status, listen]);

  useEffect(() => {
    let refresh: ReturnType<typeof setTimeout> | null = null;
    signals.sessionEnded = false;
    const feed = new LiveFeed<LiveEvent>({
      subscribe: (after, sink) => {
        const subscription = client
          .subscribe({ query: TicketEventsDocument, variables: { after } })
          .subscribe({
            next: (result) => {
              if (result.data) sink.next(result.data.ticketEvents);
              else sink.error(result.errors);
            },
            error: (error) => sink.error(error),
            complete: () => sink.complete(),
          });
        return () => subscription.unsubscribe();
      },
      onEvent: (event) => {
        for (const listener of listeners.current) listener(event);
        // Several events in a burst cause one refetch.
        if (refresh === null) {
          refresh = setTimeout(() => {
            refresh = null;
            void client.refetchQueries({ include: onScreen(client, REFRESHED) });
          }, 150);
        }
      },
      onResync: () => void client.refetchQueries({ include: "active" }),
      onStatus: setStatus,
      sessionEnded: () => signals.sessionEnded,
    });
    signals.connected = () => feed.connected();
    feed.start();
    return () => {
      signals.connected = undefined;
      if (refresh !== null) clearTimeout(refresh);
      feed.stop();
    };
  }, [client, signals]);

  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}
