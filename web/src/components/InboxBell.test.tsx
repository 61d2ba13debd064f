import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { InboxUnreadCountDocument } from "../generated/graphql";
import { InboxContext, InboxProvider } from "../inbox";
import { renderWith } from "../test/render";
import { InboxBell } from "./InboxBell";

describe("inbox bell", () => {
  it("links to the inbox and says how many items are unread", () => {
    renderWith(
      <InboxContext.Provider value={3}>
        <InboxBell />
      </InboxContext.Provider>,
    );
    const bell = screen.getByRole("link", { name: "Inbox, 3 unread" });
    expect(bell.getAttribute("href")).toBe("/inbox");
    expect(screen.getByTestId("unread-count").textContent).toBe("3");
  });

  it("shows no count when nothing is unread or the count is not known yet", () => {
    for (const unread of [0, null]) {
      const { unmount } = renderWith(
        <InboxContext.Provider value={unread}>
          <InboxBell />
        </InboxContext.Provider>,
      );
      expect(screen.getByRole("link", { name: "Inbox" })).toBeTruthy();
      expect(screen.queryByTestId("unread-count")).toBeNull();
      unmount();
    }
  });

  it("keeps a large count short", () => {
    renderWith(
      <InboxContext.Provider value={250}>
        <InboxBell />
      </InboxContext.Provider>,
    );
    expect(screen.getByTestId("unread-count").textContent).toBe("99+");
    expect(screen.getByRole("link", { name: "Inbox, 250 unread" })).toBeTruthy();
  });

  it("takes the count from the live subscription", async () => {
    const mocks = [{ request: { query: InboxUnreadCountDocument }, result: { data: { inboxUnreadCount: 4 } } }];
    renderWith(
      <InboxProvider signals={{ sessionEnded: false }}>
        <InboxBell />
      </InboxProvider>,
      { mocks },
    );
    expect(await screen.findByRole("link", { name: "Inbox, 4 unread" })).toBeTruthy();
  });
});
