// The app's frame: the Apollo client, the session, the live feeds (ticket events, the inbox's
// unread count), the header and the routes.
// Signed out, every path shows the sign-in page and, once signed in, the page asked for.
import { ApolloProvider } from "@apollo/client";
import { useMemo, useRef, useState } from "react";
import { Link, NavLink, Route, Routes, useNavigate } from "react-router-dom";
import { createApollo } from "./apollo";
import { ErrorNotice, Loading } from "./components/common";
import { InboxBell } from "./components/InboxBell";
import { TicketBrowser } from "./components/TicketBrowser";
import { InboxProvider } from "./inbox";
import { ROLE_LABELS } from "./labels";
import { FlashProvider } from "./flash";
import { LiveProvider, useLiveStatus, type SocketSignals } from "./liveContext";
import type { LiveStatus } from "./live";
import { Dashboard } from "./pages/Dashboard";
import { InboxPage } from "./pages/Inbox";
import { SignIn } from "./pages/SignIn";
import { TicketPage } from "./pages/TicketPage";
import { NotificationsPage } from "./pages/Notifications";
import { WebhooksPage } from "./pages/Webhooks";
import { SessionProvider, useSession } from "./session";

export function App() {
  const expireRef = useRef<() => void>(() => {});
  const signals = useRef<SocketSignals>({ sessionEnded: false }).current;
  const { client } = useMemo(
    () =>
      createApollo({
        onUnauthenticated: () => {
          signals.sessionEnded = true;
          expireRef.current();
        },
        onSocket: (event) => {
          if (event === "connected") signals.connected?.();
        },
      }),
    [signals],
  );
  return (
    <ApolloProvider client={client}>
      <SessionProvider
        expireRef={expireRef}
        loading={<Loading label="Starting Tessera…" />}
        failed={(error, retry) => (
          <main className="signin">
            <ErrorNotice error={error} onRetry={retry} />
          </main>
        )}
      >
        <Gate signals={signals} />
      </SessionProvider>
    </ApolloProvider>
  );
}

function Gate({ signals }: { signals: SocketSignals }) {
  const { me } = useSession();
  if (!me) return <SignIn />;
  return (
    <LiveProvider key={me.id} signals={signals}>
      <InboxProvider signals={signals}>
        <FlashProvider>
          <Shell />
        </FlashProvider>
      </InboxProvider>
    </LiveProvider>
  );
}

const LIVE_LABELS: Record<LiveStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  ended: "Not live",
};

function Shell() {
  const { me, signOut } = useSession();
  const live = useLiveStatus();
  const [menu, setMenu] = useState(false);
  const navigate = useNavigate();
  if (!me) return null;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          Tessera
        </Link>
        <button type="button" className="menu-toggle" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>
          Menu
        </button>
        <nav id="nav" className={menu ? "open" : undefined} aria-label="Main" onClick={() => setMenu(false)}>
          <NavLink to="/" end>
            Dashboard
          </NavLink>
          <NavLink to="/tickets">Tickets</NavLink>
          <NavLink to="/settings/notifications">Notifications</NavLink>
          <NavLink to="/settings/webhooks">Webhooks</NavLink>
          {me.roles.includes("ADMIN") && <a href="/graphiql">GraphiQL</a>}
        </nav>
        <span className={`live live-${live}`} title="Live updates" role="status">
          {LIVE_LABELS[live]}
        </span>
        <InboxBell />
        <span className="who">
          <span className="name">{me.name}</span>
          <span className="roles">{me.roles.map((r) => ROLE_LABELS[r]).join(", ")}</span>
        </span>
        <button
          type="button"
          onClick={() => {
            // The next person to sign in starts from the dashboard, not from this page.
            navigate("/");
            void signOut();
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main">
        <Routes>
          <Route path="/" element={<Dashboard />} />
          <Route path="/tickets" element={<TicketBrowser title="Tickets" />} />
          <Route path="/tickets/:id" element={<TicketPage />} />
          <Route path="/inbox" element={<InboxPage />} />
          <Route path="/settings/notifications" element={<NotificationsPage />} />
          <Route path="/settings/webhooks" element={<WebhooksPage />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </>
  );
}

function NotFound() {
  return (
    <div>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <Link to="/">Back to the dashboard</Link>
      </p>
    </div>
  );
}
