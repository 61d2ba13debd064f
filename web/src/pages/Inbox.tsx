// The signed-in user's inbox: everything they would be (or were) emailed about, unread first,
// newest first, each item linking to its ticket. Opening an item marks it read; items can be
// marked read one by one or all at once. The list is read again whenever the live unread
// count changes (an item arrived, or was read in another tab).
import { useMutation, useQuery } from "@apollo/client";
import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { ErrorNotice, Loading } from "../components/common";
import {
  InboxDocument,
  MarkAllReadDocument,
  MarkReadDocument,
  type InboxItemFieldsFragment,
  type InboxQuery,
} from "../generated/graphql";
import { useInboxUnread } from "../inbox";
import { EVENT_LABELS, formatDateTime } from "../labels";

/** Items a page shows, and "Show more" adds. */
export const PAGE_SIZE = 20;

export function InboxPage() {
  const [unreadOnly, setUnreadOnly] = useState(false);
  const inbox = useQuery(InboxDocument, { variables: { first: PAGE_SIZE, unreadOnly } });
  const [markAll, marking] = useMutation(MarkAllReadDocument, { refetchQueries: [InboxDocument] });
  const [error, setError] = useState<unknown>(null);
  const unread = useInboxUnread();
  const { refetch } = inbox;
  useEffect(() => {
    // The count changed: the list on screen is not what the server holds any more.
    if (unread !== null) void refetch();
  }, [unread, refetch]);
  const data = inbox.data;
  const count = unread ?? data?.inboxUnreadCount ?? 0;
  const more = () =>
    void inbox.fetchMore({
      variables: { after: data?.inbox.pageInfo.endCursor },
      updateQuery: (previous, { fetchMoreResult }) => appendPage(previous, fetchMoreResult),
    });
  return (
    <div className="inbox">
      <h1>Inbox</h1>
      <p>
        What happened to the tickets you take part in: everything Tessera emails you about, whether or not you get the
        emails. {count === 0 ? "Nothing unread." : `${count} unread.`}
      </p>
      <div className="toolbar">
        <label className="check">
          <input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)} /> Unread only
        </label>
        <button
          type="button"
          disabled={count === 0 || marking.loading}
          onClick={() => {
            setError(null);
            markAll().catch(setError);
          }}
        >
          Mark all read
        </button>
      </div>
      <ErrorNotice error={error} />
      {inbox.loading && !data && <Loading />}
      {inbox.error && <ErrorNotice error={inbox.error} onRetry={() => void inbox.refetch()} />}
      {data && data.inbox.edges.length === 0 && <p>{unreadOnly ? "No unread items." : "Your inbox is empty."}</p>}
      {data && data.inbox.edges.length > 0 && (
        <ul className="inbox-items" aria-label="Inbox items">
          {data.inbox.edges.map(({ node }) => (
            <InboxEntry key={node.id} item={node} onError={setError} />
          ))}
        </ul>
      )}
      {data?.inbox.pageInfo.hasNextPage && (
        <button type="button" onClick={more} disabled={inbox.loading}>
          Show more
        </button>
      )}
    </div>
  );
}

/** `previous` with the items of `next` after its own (an item already shown is not repeated). */
export function appendPage(previous: InboxQuery, next: InboxQuery | undefined): InboxQuery {
  if (!next) return previous;
  const shown = new Set(previous.inbox.edges.map((e) => e.node.id));
  return {
    ...next,
    inbox: {
      ...next.inbox,
      edges: [...previous.inbox.edges, ...next.inbox.edges.filter((e) => !shown.has(e.node.id))],
    },
  };
}

function InboxEntry({ item, onError }: { item: InboxItemFieldsFragment; onError(error: unknown): void }) {
  const [markRead, { loading }] = useMutation(MarkReadDocument, { variables: { ids: [item.id] } });
  const read = () => {
    onError(null);
    markRead().catch(onError);
  };
  const titleId = `inbox-item-${item.id}`;
  return (
    <li className={item.unread ? "unread" : "read"} aria-labelledby={titleId}>
      <div className="what">
        {item.unread && <span className="badge unread-badge">Unread</span>}
        <span className="badge">{EVENT_LABELS[item.kind]}</span>
        <time dateTime={item.createdAt}>{formatDateTime(item.createdAt)}</time>
      </div>
      <h2 id={titleId}>
        {item.ticket ? (
          // Opening an item reads it.
          <Link to={`/tickets/${item.ticket.id}`} onClick={item.unread ? read : undefined}>
            {item.title}
          </Link>
        ) : (
          item.title
        )}
      </h2>
      <p>{item.summary}</p>
      {item.unread && (
        <button type="button" className="link" onClick={read} disabled={loading}>
          Mark read
        </button>
      )}
    </li>
  );
}
