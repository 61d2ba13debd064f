// Renders a piece of the app as a signed-in user would see it: Apollo answering from `mocks`,
// a router at `path`, and a fixed session.
import { MockedProvider, type MockedResponse } from "@apollo/client/testing";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router-dom";
import { createCache } from "../apollo";
import { FlashProvider } from "../flash";
import type { TicketRowFragment } from "../generated/graphql";
import { SessionContext, type Me, type SessionValue } from "../session";

export const ME: Me = { id: "1", name: "Ada Lovelace", email: "ada@example.edu", roles: ["FACULTY"], supports: [] };

export function session(overrides: Partial<SessionValue> = {}): SessionValue {
  return {
    me: ME,
    message: null,
    signIn: async () => null,
    signOut: async () => {},
    expire: () => {},
    ...overrides,
  };
}

export function renderWith(
  ui: ReactNode,
  { mocks = [], path = "/", value = session() }: { mocks?: MockedResponse[]; path?: string; value?: SessionValue } = {},
) {
  const cache = createCache();
  // A wrapper (not a tree around `ui`), so `rerender` with new props keeps the providers.
  const wrapper = ({ children }: { children: ReactNode }) => (
    <MockedProvider mocks={mocks} cache={cache}>
      <MemoryRouter initialEntries={[path]} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <SessionContext.Provider value={value}>
          <FlashProvider>{children}</FlashProvider>
        </SessionContext.Provider>
      </MemoryRouter>
    </MockedProvider>
  );
  return render(ui, { wrapper });
}

/** A ticket as lists and live events carry it (with the `__typename`s the cache needs). */
export function ticketRow(overrides: Partial<TicketRowFragment> = {}): TicketRowFragment & { __typename: "Ticket" } {
  return {
    __typename: "Ticket",
    id: "42",
    number: 7,
    cycle: "2027",
    residency: "DOMESTIC",
    state: "INITIAL",
    version: 3,
    updatedAt: "2026-11-01T10:00:00Z",
    dueAt: null,
    overdue: false,
    owner: { __typename: "User", id: "9", name: "Alan Turing" } as TicketRowFragment["owner"],
    applicant: null,
    allowedTransitions: ["GRANTED", "CANCELLED"],
    ...overrides,
  };
}
