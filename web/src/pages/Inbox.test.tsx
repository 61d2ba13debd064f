import { GraphQLError } from "graphql";
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { InboxDocument, MarkAllReadDocument, MarkReadDocument, type InboxQuery } from "../generated/graphql";
import { renderWith } from "../test/render";
import { InboxPage, PAGE_SIZE, appendPage } from "./Inbox";

function item(id: string, unread: boolean, overrides: Record<string, unknown> = {}) {
  return {
    __typename: "InboxItem" as const,
    id,
    kind: "STATE_CHANGED" as const,
    title: `Ticket #${id} granted`,
    summary: `Bea Budget granted ticket #${id}: it can now be used for an offer.`,
    createdAt: "2026-12-03T09:00:00Z",
    readAt: unread ? null : "2026-12-03T10:00:00Z",
    unread,
    ticket: { __typename: "Ticket" as const, id: `t${id}`, number: Number(id), state: "GRANTED" as const },
    ...overrides,
  };
}

function page(items: ReturnType<typeof item>[], { next = false, unread = 0, total = items.length } = {}) {
  return {
    inbox: {
      __typename: "InboxConnection" as const,
      edges: items.map((node) => ({ __typename: "InboxItemEdge" as const, cursor: `c${node.id}`, node })),
      pageInfo: { __typename: "PageInfo" as const, hasNextPage: next, endCursor: items.at(-1) ? `c${items.at(-1)!.id}` : null },
      totalCount: total,
    },
    inboxUnreadCount: unread,
  };
}

const inbox = (data: ReturnType<typeof page>, variables: Record<string, unknown> = {}) => ({
  request: { query: InboxDocument, variables: { first: PAGE_SIZE, unreadOnly: false, ...variables } },
  result: { data },
});

describe("inbox page", () => {
  it("lists unread items first, marked as such, each linking to its ticket", async () => {
    renderWith(<InboxPage />, { mocks: [inbox(page([item("2", true), item("1", false)], { unread: 1 }))] });
    const list = await screen.findByRole("list", { name: "Inbox items" });
    const [first, second] = within(list).getAllByRole("listitem");
    expect(first.className).toBe("unread");
    expect(within(first).getByText("Unread")).toBeTruthy();
    const link = within(first).getByRole("link", { name: "Ticket #2 granted" });
    expect(link.getAttribute("href")).toBe("/tickets/t2");
    expect(within(first).getByText(/Bea Budget granted ticket #2/)).toBeTruthy();
    expect(second.className).toBe("read");
    expect(within(second).queryByRole("button", { name: "Mark read" })).toBeNull();
    expect(screen.getByText(/1 unread\./)).toBeTruthy();
  });

  it("marks one item read, and all of them", async () => {
    const mocks = [
      inbox(page([item("2", true), item("1", true)], { unread: 2 })),
      { request: { query: MarkReadDocument, variables: { ids: ["2"] } }, result: { data: { markRead: [item("2", false)] } } },
      { request: { query: MarkAllReadDocument }, result: { data: { markAllRead: 1 } } },
      inbox(page([item("2", false), item("1", false)])),
    ];
    renderWith(<InboxPage />, { mocks });
    const list = await screen.findByRole("list", { name: "Inbox items" });
    const first = within(list).getAllByRole("listitem")[0];
    await userEvent.click(within(first).getByRole("button", { name: "Mark read" }));
    expect(await within(list).findAllByRole("button", { name: "Mark read" })).toHaveLength(1);
    expect(first.className).toBe("read");
    await userEvent.click(screen.getByRole("button", { name: "Mark all read" }));
    expect(await screen.findByText(/Nothing unread\./)).toBeTruthy();
    expect(within(list).queryByRole("button", { name: "Mark read" })).toBeNull();
  });

  it("shows more items after the last one, and only unread ones when asked", async () => {
    const mocks = [
      inbox(page([item("3", true)], { next: true, unread: 2, total: 3 })),
      inbox(page([item("2", true), item("1", false)], { unread: 2, total: 3 }), { after: "c3" }),
      inbox(page([item("3", true), item("2", true)], { unread: 2 }), { unreadOnly: true }),
    ];
    renderWith(<InboxPage />, { mocks });
    await userEvent.click(await screen.findByRole("button", { name: "Show more" }));
    const list = screen.getByRole("list", { name: "Inbox items" });
    expect(await within(list).findByRole("link", { name: "Ticket #1 granted" })).toBeTruthy();
    expect(within(list).getAllByRole("listitem")).toHaveLength(3);
    expect(screen.queryByRole("button", { name: "Show more" })).toBeNull();
    await userEvent.click(screen.getByLabelText("Unread only"));
    await screen.findByRole("link", { name: "Ticket #3 granted" });
    expect(await within(screen.getByRole("list", { name: "Inbox items" })).findAllByRole("listitem")).toHaveLength(2);
  });

  it("says so when the inbox is empty, and when an item cannot be marked", async () => {
    const mocks = [
      inbox(page([item("4", true)], { unread: 1 })),
      {
        request: { query: MarkReadDocument, variables: { ids: ["4"] } },
        result: { errors: [new GraphQLError("inbox item not found", { extensions: { code: "NOT_FOUND" } })] },
      },
    ];
    renderWith(<InboxPage />, { mocks });
    await userEvent.click(await screen.findByRole("button", { name: "Mark read" }));
    expect((await screen.findByRole("alert")).textContent).toBe("This item does not exist, or you do not have access to it.");
    renderWith(<InboxPage />, { mocks: [inbox(page([]))] });
    expect(await screen.findByText("Your inbox is empty.")).toBeTruthy();
  });

  it("an item whose ticket is out of sight shows its title without a link", async () => {
    renderWith(<InboxPage />, { mocks: [inbox(page([item("5", false, { ticket: null })]))] });
    const list = await screen.findByRole("list", { name: "Inbox items" });
    expect(within(list).getByText("Ticket #5 granted")).toBeTruthy();
    expect(within(list).queryByRole("link")).toBeNull();
  });
});

describe("appendPage", () => {
  it("adds the next page's items after the shown ones, once each", () => {
    const shown = page([item("3", true), item("2", true)]) as InboxQuery;
    const next = page([item("2", false), item("1", false)], { unread: 1 }) as InboxQuery;
    const merged = appendPage(shown, next);
    expect(merged.inbox.edges.map((e) => e.node.id)).toEqual(["3", "2", "1"]);
    expect(merged.inboxUnreadCount).toBe(1);
    expect(appendPage(shown, undefined)).toBe(shown);
  });
});
