// The header's bell: a link to the inbox with the unread count, live.
import { NavLink } from "react-router-dom";
import { useInboxUnread } from "../inbox";

export function InboxBell() {
  const unread = useInboxUnread();
  const label = unread ? `Inbox, ${unread} unread` : "Inbox";
  return (
    <NavLink to="/inbox" className="bell" aria-label={label} title={label}>
      <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
        <path
          fill="currentColor"
          d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
        />
      </svg>
      {unread ? (
        <span className="count" data-testid="unread-count">
          {unread > 99 ? "99+" : unread}
        </span>
      ) : null}
    </NavLink>
  );
}
