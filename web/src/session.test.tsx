import { MockedProvider } from "@apollo/client/testing";
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createCache } from "./apollo";
import { MeDocument } from "./generated/graphql";
import { SignIn } from "./pages/SignIn";
import { EXPIRED_MESSAGE, SessionProvider, useSession } from "./session";

const ada = { __typename: "User", id: "1", name: "Ada Lovelace", email: "ada@example.edu", roles: ["FACULTY"], supports: [] };
const meIs = (me: unknown) => ({ request: { query: MeDocument }, result: { data: { me } } });

function Page() {
  const { me } = useSession();
  return me ? <p>Signed in as {me.name}</p> : <SignIn />;
}

function renderSession(mocks: ReturnType<typeof meIs>[], expireRef = { current: () => {} }) {
  render(
    <MockedProvider mocks={mocks} cache={createCache()}>
      <SessionProvider expireRef={expireRef} loading={<p>Loading</p>} failed={(e) => <p role="alert">{e.message}</p>}>
        <Page />
      </SessionProvider>
    </MockedProvider>,
  );
  return expireRef;
}

afterEach(() => vi.unstubAllGlobals());

describe("session", () => {
  it("shows the sign-in page when nobody is signed in", async () => {
    renderSession([meIs(null)]);
    expect(await screen.findByRole("heading", { name: "Sign in to Tessera" })).toBeTruthy();
    expect(screen.getByLabelText("Email")).toBeTruthy();
    expect(screen.getByLabelText("Password")).toBeTruthy();
  });

  it("an expired session goes back to sign-in with the reason", async () => {
    const expire = renderSession([meIs(ada)]);
    expect(await screen.findByText("Signed in as Ada Lovelace")).toBeTruthy();
    act(() => expire.current());
    expect(await screen.findByRole("status")).toHaveProperty("textContent", EXPIRED_MESSAGE);
    expect(screen.getByRole("heading", { name: "Sign in to Tessera" })).toBeTruthy();
  });

  it("signs in with the form, posting JSON to /auth/login", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ user: ada }), { status: 200 }));
    vi.stubGlobal("fetch", fetch);
    renderSession([meIs(null), meIs(ada)]);
    await userEvent.type(await screen.findByLabelText("Email"), "ada@example.edu");
    await userEvent.type(screen.getByLabelText("Password"), "secret");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("Signed in as Ada Lovelace")).toBeTruthy();
    expect(fetch).toHaveBeenCalledWith("/auth/login", expect.objectContaining({ method: "POST", body: JSON.stringify({ email: "ada@example.edu", password: "secret" }) }));
  });

  it("says so when the password is wrong, and when sign-ins are locked", async () => {
    const answers = [
      new Response(JSON.stringify({ error: { code: "UNAUTHENTICATED" } }), { status: 401 }),
      new Response(JSON.stringify({ error: { code: "RATE_LIMITED" } }), { status: 429, headers: { "retry-after": "900" } }),
    ];
    vi.stubGlobal("fetch", vi.fn(async () => answers.shift()));
    renderSession([meIs(null)]);
    await userEvent.type(await screen.findByLabelText("Email"), "ada@example.edu");
    await userEvent.type(screen.getByLabelText("Password"), "wrong");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveProperty("textContent", "Wrong email or password.");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("Too many failed sign-ins. Please try again in 15 minutes."));
  });

  it("a server that cannot be reached is reported, with a way to try again", async () => {
    render(
      <MockedProvider mocks={[{ request: { query: MeDocument }, error: new TypeError("Failed to fetch") }]} cache={createCache()}>
        <SessionProvider
          expireRef={{ current: () => {} }}
          loading={<p>Loading</p>}
          failed={(e) => <p role="alert">{e.message}</p>}
        >
          <Page />
        </SessionProvider>
      </MockedProvider>,
    );
    expect(await screen.findByRole("alert")).toHaveProperty("textContent", "Cannot reach Tessera. Check your connection and try again.");
  });
});
