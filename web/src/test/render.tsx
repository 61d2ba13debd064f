// Renders a piece of the app as a signed-in user would see it: Apollo answering from `mocks`,
// a router at `path`, and a fixed session.
import { MockedProvider, type MockedResponse } from "@apollo/client/testing";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter } from "react-router-dom";
import { createCache } from "../apollo";
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
  return render(
    <MockedProvider mocks={mocks} cache={createCache()}>
      <MemoryRouter initialEntries={[path]} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <SessionContext.Provider value={value}>{ui}</SessionContext.Provider>
      </MemoryRouter>
    </MockedProvider>,
  );
}
