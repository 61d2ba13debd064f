// End-to-end: the in-app inbox of the real all-in-one binary. Ada watches her header's bell
// while the budget director (another person, through the API) issues and grants her tickets:
// the count goes up live, comes back right after a dropped connection (the bell reconnects as
// the live feed does), the inbox page lists the item with a link to the ticket, and opening
// it reads it, which the bell shows at once. The page passes the quality checks (its own
// CSP, no console message, nothing serious for axe) at desktop and phone size.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { request } from "playwright-core";
import { CSP, PASSWORD, PEOPLE, PHONE, accessibilityProblems, openBrowser, shot, signIn, watch } from "./browser.mjs";
import { startHeaderProxy, startProxy, startServer } from "./server.mjs";

let server;
let site;
let browser;

before(async () => {
  server = await startServer();
  site = await startHeaderProxy(server.url, { "content-security-policy": CSP });
  browser = await openBrowser(site);
});

after(async () => {
  await browser?.close();
  await site?.close();
  await server?.stop();
});

/** Calls the API as `who`, outside any browser. */
async function api(who) {
  const ctx = await request.newContext({ baseURL: server.url });
  const login = await ctx.post("/auth/login", { data: { email: who.email, password: PASSWORD } });
  assert.equal(login.status(), 200);
  return async (query, variables = {}) => {
    const body = await (await ctx.post("/graphql", { data: { query, variables } })).json();
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data;
  };
}

/** The budget director issues Ada a ticket and grants it (which emails her): its id and number. */
async function grantAda() {
  const budget = await api(PEOPLE.budget);
  const { users } = await budget(`{ users(role: FACULTY) { id email } }`);
  const ada = users.find((u) => u.email === PEOPLE.ada.email).id;
  const { createTickets } = await budget(
    `mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: "2027", count: 1}) { id number } }`,
    { o: ada },
  );
  const [ticket] = createTickets;
  await budget(`mutation($id: ID!) { grantTicket(ticketId: $id) { state } }`, { id: ticket.id });
  return ticket;
}

/** Ada's unread count, as she would read it (the API, not the page). */
async function unreadOfAda() {
  return (await (await api(PEOPLE.ada))(`{ inboxUnreadCount }`)).inboxUnreadCount;
}

describe("the inbox in a browser", () => {
  test("the bell counts live when someone else acts, and the inbox links to the ticket", async () => {
    const ctx = await browser.context();
    const seen = await watch(ctx, site.url);
    const page = await ctx.newPage();
    await signIn(page, PEOPLE.ada);
    await page.locator(".live-live").waitFor();
    const before = await unreadOfAda();
    const bell = page.locator("a.bell");
    const label = (n) => (n ? `Inbox, ${n} unread` : "Inbox");
    await page.getByRole("link", { name: label(before), exact: true }).waitFor();

    const ticket = await grantAda();
    // No reload: the count arrives over the websocket.
    await page.getByRole("link", { name: label(before + 1), exact: true }).waitFor();

    await bell.click();
    await page.getByRole("heading", { name: "Inbox", exact: true }).waitFor();
    const item = page.getByRole("listitem").filter({ hasText: `Ticket #${ticket.number} granted` });
    await item.getByText("Unread", { exact: true }).waitFor();
    await item.getByText(/Bianca Budget granted ticket/).waitFor();
    assert.deepEqual(await accessibilityProblems(page), []);
    await shot(page, "inbox");
    await item.getByRole("link", { name: `Ticket #${ticket.number} granted` }).click();
    await page.getByRole("heading", { name: `Ticket #${ticket.number}` }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/tickets/${ticket.id}`);
    // Opening it read it: the bell says so without a reload.
    await page.getByRole("link", { name: label(before), exact: true }).waitFor();
    assert.equal(await unreadOfAda(), before);
    assert.deepEqual(seen.console, [], "console messages");
    assert.deepEqual(seen.outside, [], "requests to other hosts");
  });

  test("after a dropped connection the bell shows what arrived meanwhile", async () => {
    const proxy = await startProxy(server.url);
    try {
      const page = await (await browser.context({ baseURL: proxy.url })).newPage();
      await signIn(page, PEOPLE.ada);
      await page.locator(".live-live").waitFor();
      const before = await unreadOfAda();
      proxy.cut();
      await page.locator(".live-reconnecting").waitFor();
      await grantAda();
      proxy.restore();
      await page.locator(".live-live").waitFor({ timeout: 30_000 });
      await page.getByRole("link", { name: `Inbox, ${before + 1} unread`, exact: true }).waitFor({ timeout: 30_000 });
      // Everything at once, from the page.
      await page.locator("a.bell").click();
      await page.getByRole("button", { name: "Mark all read" }).click();
      await page.getByRole("link", { name: "Inbox", exact: true }).waitFor();
      await page.getByText("Nothing unread.", { exact: false }).waitFor();
      assert.equal(await unreadOfAda(), 0);
    } finally {
      await proxy.close();
    }
  });

  test("the inbox page at phone size: nothing wider than the screen, nothing serious for axe", async () => {
    await grantAda();
    const ctx = await browser.context(PHONE);
    const seen = await watch(ctx, site.url);
    const page = await ctx.newPage();
    await signIn(page, PEOPLE.ada, { path: "/inbox" });
    await page.getByRole("heading", { name: "Inbox", exact: true }).waitFor();
    await page.getByRole("list", { name: "Inbox items" }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, "the page is wider than the screen");
    assert.deepEqual(await accessibilityProblems(page), []);
    await shot(page, "inbox-phone", { fullPage: false });
    assert.deepEqual(seen.console, [], "console messages");
  });
});
