import { MockedProvider } from "@apollo/client/testing";
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createCache } from "./apollo";
import { MeDocument } from "./generated/graphql";
import { SignIn } from "./pages/SignIn";
import { EXPIRED_MESSAGE, SessionProvider, leave, useSession } from "./session";

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

afterEach(() => {
  vi.unstubAllGlobals();
  window.history.replaceState(null, "", "/");
});

const noProvider = () => new Response(JSON.stringify({ password: true, provider: null }), { status: 200 });
const campus = (password: boolean) =>
  new Response(JSON.stringify({ password, provider: { name: "Campus ID", login: "/auth/oidc/login" } }), { status: 200 });

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
    vi.stubGlobal("fetch", vi.fn(async (url: string) => (url === "/auth/config" ? noProvider() : answers.shift())));
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

  it("offers the identity provider by name, coming back to the page asked for", async () => {
    window.history.replaceState(null, "", "/tickets/12");
    vi.stubGlobal("fetch", vi.fn(async () => campus(true)));
    renderSession([meIs(null)]);
    const link = await screen.findByRole("link", { name: "Sign in with Campus ID" });
    expect(link.getAttribute("href")).toBe("/auth/oidc/login?redirect=%2Ftickets%2F12");
    expect(screen.getByLabelText("Password")).toBeTruthy();
  });

  it("with passwords off, keeps the password form for the administrator only, folded", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => campus(false)));
    renderSession([meIs(null)]);
    expect(await screen.findByRole("link", { name: "Sign in with Campus ID" })).toBeTruthy();
    const folded = screen.getByText("Administrator sign-in with a password");
    expect(folded.closest("details")?.open).toBe(false);
  });

  it("says in words why the identity provider sign-in did not succeed, and cleans the address", async () => {
    window.history.replaceState(null, "", "/tickets?oidc_error=no_user");
    vi.stubGlobal("fetch", vi.fn(async () => campus(true)));
    renderSession([meIs(null)]);
    expect(await screen.findByRole("alert")).toHaveProperty(
      "textContent",
      "There is no Tessera account for your email address. Ask the graduate office to add you.",
    );
    expect(window.location.pathname + window.location.search).toBe("/tickets");
  });

  it("signing out of a session begun at the provider goes on to the provider's logout", async () => {
    const assign = vi.spyOn(leave, "to").mockImplementation(() => {});
    const out = "http://idp.example/logout?id_token_hint=x";
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => new Response(null, { status: 204, headers: { "tessera-provider-logout": out } })),
    );
    function SignOut() {
      const { me, signOut } = useSession();
      return me ? <button onClick={() => void signOut()}>Sign out</button> : <p>Signed out</p>;
    }
    render(
      <MockedProvider mocks={[meIs(ada)]} cache={createCache()}>
        <SessionProvider expireRef={{ current: () => {} }} loading={<p>Loading</p>} failed={() => null}>
          <SignOut />
        </SessionProvider>
      </MockedProvider>,
    );
    await userEvent.click(await screen.findByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(assign).toHaveBeenCalledWith(out));
  });
});
