// Sign-in with an identity provider, end to end: a real OpenID provider (the certified
// `oidc-provider` package, in memory, with its development login and consent pages) on a
// port of its own, and the `tessera` binary configured for it. People sign in through the
// browser flow in Chromium; groups map to roles; unknown and deactivated people are refused
// in words; signing out ends the session at the provider too.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import Provider from "oidc-provider";
import { openBrowser, shot } from "./browser.mjs";
import { signInApi } from "./api.mjs";
import { startServer } from "./server.mjs";

const CLIENT = { id: "tessera-e2e", secret: "tessera-e2e-secret-0123456789" };

/** The provider's people, by the login typed at its sign-in page. */
const ACCOUNTS = {
  ada: { email: "Ada@Example.edu", name: "Ada Lovelace", groups: ["tessera-faculty"] },
  chandra: { email: "chair@example.edu", name: "Chandra Chair", groups: ["tessera-grad-office"] },
  stranger: { email: "stranger@example.edu", name: "Sam Stranger", groups: ["tessera-faculty"] },
  donald: { email: "donald@example.edu", name: "Donald Knuth", groups: ["tessera-faculty"] },
};

/** A port free now (tessera's redirect URL must be known before either server starts). */
async function freePort() {
  const probe = createServer();
  await new Promise((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  return port;
}

async function startProvider(tessera) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        redirect_uris: [`${tessera}/auth/oidc/callback`],
        post_logout_redirect_uris: [`${tessera}/`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    async findAccount(_ctx, id) {
      const account = ACCOUNTS[id];
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: account.email, email_verified: true, name: account.name, groups: account.groups };
        },
      };
    },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "groups"] },
    // The ID token carries the scopes' claims (Tessera reads only the ID token).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    cookies: { keys: ["e2e-cookie-key-0123456789abcdef"] },
  });
  const server = provider.listen(port, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  return { issuer, close: () => new Promise((r) => server.close(r)) };
}

/** An ADMIN's request to the GraphQL API, signed in with the demo password. */
async function asAdmin(url, query, variables) {
  const admin = await signInApi(url, "admin@example.edu");
  return admin(query, variables, { errors: true });
}

describe("sign-in with the identity provider", () => {
  let tessera;
  let idp;
  let browser;

  before(async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    idp = await startProvider(url);
    tessera = await startServer({
      env: {
        PORT: String(port),
        OIDC_ISSUER: idp.issuer,
        OIDC_CLIENT_ID: CLIENT.id,
        OIDC_CLIENT_SECRET: CLIENT.secret,
        OIDC_REDIRECT_URL: `${url}/auth/oidc/callback`,
        OIDC_DISPLAY_NAME: "Campus ID",
        OIDC_GROUPS_CLAIM: "groups",
        OIDC_ROLE_MAP: "tessera-faculty=FACULTY,tessera-grad-office=GRAD_OFFICE",
      },
    });
    assert.equal(tessera.url, url);
    browser = await openBrowser(tessera);
  });

  after(async () => {
    await browser?.close();
    await tessera?.stop();
    await idp?.close();
  });

  /** Clicks "Sign in with Campus ID" and signs in at the provider as `login`. */
  async function viaProvider(page, login, { path = "/" } = {}) {
    await page.goto(path);
    await page.getByRole("link", { name: "Sign in with Campus ID" }).click();
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill("any password");
    await page.getByRole("button", { name: "Sign-in" }).click();
    // The first sign-in of a session asks for consent once.
    const consent = page.getByRole("button", { name: "Continue" });
    await Promise.race([
      consent.waitFor().then(() => consent.click()),
      page.waitForURL((u) => u.origin === tessera.url),
    ]);
    await page.waitForURL((u) => u.origin === tessera.url);
  }

  test("a person signs in at the provider and lands on their dashboard; sign-out ends both sessions", async () => {
    const page = await (await browser.context()).newPage();
    await viaProvider(page, "ada", { path: "/tickets" });
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    assert.equal(new URL(page.url()).pathname, "/tickets");
    await page.locator(".who .name", { hasText: "Ada Lovelace" }).waitFor();
    assert.equal(await page.locator(".who .roles").textContent(), "Faculty");
    await shot(page, "oidc-signed-in");

    await page.getByRole("button", { name: "Sign out" }).click();
    // The provider asks to confirm its own sign-out, then sends the browser back.
    await page.getByRole("button", { name: "Yes, sign me out" }).click();
    await page.waitForURL((u) => u.origin === tessera.url);
    await page.getByRole("heading", { name: "Sign in to Tessera" }).waitFor();
    // Signing in again asks the provider for credentials again: its session ended too.
    await page.getByRole("link", { name: "Sign in with Campus ID" }).click();
    await page.locator('input[name="login"]').waitFor();
  });

  test("a group claim gives the mapped role", async () => {
    const page = await (await browser.context()).newPage();
    await viaProvider(page, "chandra");
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    await page.locator(".who .name", { hasText: "Chandra Chair" }).waitFor();
    assert.equal(await page.locator(".who .roles").textContent(), "Graduate office");
  });

  test("an unknown email is refused in words", async () => {
    const page = await (await browser.context()).newPage();
    await viaProvider(page, "stranger");
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.equal(
      await alert.textContent(),
      "There is no Tessera account for your email address. Ask the graduate office to add you.",
    );
    assert.equal(new URL(page.url()).search, "");
    await shot(page, "oidc-no-user");
  });

  test("a deactivated user is refused in words", async () => {
    const users = await asAdmin(tessera.url, "{ users { id email } }");
    const donald = users.data.users.find((u) => u.email === "donald@example.edu");
    const changed = await asAdmin(
      tessera.url,
      "mutation($i: UpdateUserInput!) { updateUser(input: $i) { active } }",
      { i: { id: donald.id, active: false } },
    );
    assert.equal(changed.data.updateUser.active, false, JSON.stringify(changed));
    const page = await (await browser.context()).newPage();
    await viaProvider(page, "donald");
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.equal(
      await alert.textContent(),
      "Your Tessera account is deactivated. Ask the graduate office if this is a mistake.",
    );
  });
});
