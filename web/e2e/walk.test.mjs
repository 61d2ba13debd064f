// End-to-end: the real all-in-one binary and Debian's Chromium (driven by playwright-core,
// never a downloaded browser). Every role signs in; one ticket goes from issue to accepted,
// each step by clicking; a second browser context sees the change live; an export downloads;
// sessions end; dashboards are photographed into target/e2e/ (also at phone width).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PEOPLE, SHOTS, openBrowser, row, shot, signIn } from "./browser.mjs";
import { REPO, startProxy, startServer } from "./server.mjs";

/** The schema promises subscriptions once the gateway serves them; from then on they must work. */
const LIVE = /^type Subscription\b/m.test(readFileSync(join(REPO, "schema.graphql"), "utf8"));

let server;
let browser;

const context = (options) => browser.context(options);

before(async () => {
  server = await startServer();
  browser = await openBrowser(server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe("Tessera in a browser", () => {
  const ticket = { number: 0, id: "", applicantNumber: "" };
  let budget;
  let ada;

  test("a wrong password is refused in words", async () => {
    const page = await (await context()).newPage();
    await page.goto("/");
    await page.getByLabel("Email").fill(PEOPLE.ada.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await assert.doesNotReject(page.getByRole("alert").filter({ hasText: "Wrong email or password." }).waitFor());
  });

  test("the budget director sees the totals and issues a ticket to a faculty member", async () => {
    budget = await (await context()).newPage();
    await signIn(budget, PEOPLE.budget);
    await budget.getByRole("figure", { name: "Domestic / international" }).waitFor();
    await budget.getByRole("figure", { name: "By state" }).waitFor();
    await budget.getByRole("figure", { name: "By faculty member" }).waitFor();
    await shot(budget, "budget-director");

    await budget.getByLabel("Faculty member", { exact: true }).selectOption({ label: PEOPLE.ada.name });
    await budget.getByLabel("Funding", { exact: true }).selectOption("DOMESTIC");
    await budget.getByLabel("Cycle", { exact: true }).fill("2027");
    await budget.getByLabel("Number of tickets").fill("1");
    await budget.getByRole("button", { name: "Issue", exact: true }).click();
    const issued = await budget.getByRole("status").filter({ hasText: "Issued 1 ticket to Ada Lovelace" }).textContent();
    ticket.number = Number(issued.match(/#(\d+)/)[1]);
    ticket.applicantNumber = `E2E-${ticket.number}`;
    const link = row(budget, "Issued, waiting to be granted", ticket.number).getByRole("link", { name: `#${ticket.number}` });
    ticket.id = (await link.getAttribute("href")).split("/").pop();
  });

  test("the owner watches the ticket while the budget director grants it, and sees it change live", async () => {
    ada = await (await context()).newPage();
    await signIn(ada, PEOPLE.ada, { path: `/tickets/${ticket.id}` });
    await ada.getByRole("heading", { name: `Ticket #${ticket.number}` }).waitFor();
    await ada.locator(".ticket-head .badge", { hasText: "Issued" }).waitFor();
    if (LIVE) await ada.locator(".live-live").waitFor();

    await row(budget, "Issued, waiting to be granted", ticket.number).getByRole("link").click();
    await budget.getByRole("heading", { name: `Ticket #${ticket.number}` }).waitFor();
    await budget.getByRole("button", { name: "Grant" }).click();
    await budget.getByRole("button", { name: `Grant #${ticket.number}` }).click();
    await budget.locator(".ticket-head .badge", { hasText: "Granted" }).waitFor();
    await budget.getByRole("status").filter({ hasText: `Ticket #${ticket.number} is granted` }).waitFor();

    if (!LIVE) {
      console.log("# live steps skipped: schema.graphql has no Subscription type yet (the gateway does not serve subscriptions)");
      return;
    }
    // No reload: the ticket page follows ticketEvents and says who changed it.
    await ada.locator(".ticket-head .badge", { hasText: "Granted" }).waitFor();
    await ada.getByRole("status").filter({ hasText: "Bianca Budget just moved this ticket to “Granted”." }).waitFor();
  });

  test("the faculty member requests an offer from the dashboard", async () => {
    await ada.getByRole("link", { name: "Dashboard" }).click();
    const mine = row(ada, "My tickets", ticket.number);
    await mine.getByRole("button", { name: "Request an offer" }).click();
    await ada.getByLabel("Applicant name").fill("Zora Neale");
    await ada.getByLabel("Applicant number").fill(ticket.applicantNumber);
    await ada.getByLabel("Applicant email (optional)").fill("zora@applicants.example");
    await ada.getByRole("checkbox", { name: "Grace Hopper" }).check();
    await ada.getByRole("button", { name: "Send request" }).click();
    await mine.locator(".badge", { hasText: "Offer requested" }).waitFor();
    await shot(ada, "faculty");
  });

  test("faculty support staff see the tickets of the faculty they support", async () => {
    const page = await (await context()).newPage();
    await signIn(page, PEOPLE.fiona);
    await row(page, "Tickets of the faculty you support", ticket.number).waitFor();
    await shot(page, "faculty-support");
  });

  test("the associate chair approves the request from the queue", async () => {
    const page = await (await context()).newPage();
    await signIn(page, PEOPLE.chair);
    const queued = row(page, "Offer requests to approve or decline", ticket.number);
    await queued.waitFor();
    await shot(page, "associate-chair");
    await queued.getByRole("button", { name: "Approve" }).click();
    // Approving cannot be undone: the page asks first.
    await queued.getByText(`Approve the offer to Zora Neale on ticket #${ticket.number}? This cannot be undone.`).waitFor();
    await queued.getByRole("button", { name: `Approve #${ticket.number}` }).click();
    await queued.waitFor({ state: "detached" });
    // The row is gone from the queue; the page says where the ticket went.
    const report = page.getByRole("status").filter({ hasText: `You approved the offer to Zora Neale on ticket #${ticket.number}.` });
    await report.getByRole("link", { name: `Open ticket #${ticket.number}` }).waitFor();
    if (LIVE) {
      // The faculty member's list, open in another browser, changes without a reload.
      await row(ada, "My tickets", ticket.number).locator(".badge", { hasText: "Offer pending" }).waitFor();
    }
  });

  test("the graduate office records the applicant's acceptance", async () => {
    const page = await (await context()).newPage();
    await signIn(page, PEOPLE.grad);
    const waiting = row(page, "Offers waiting for the applicant's answer", ticket.number);
    await waiting.waitFor();
    await page.getByRole("heading", { name: "All tickets" }).waitFor();
    await shot(page, "graduate-office");
    await waiting.getByRole("button", { name: "Applicant accepted" }).click();
    await waiting.getByRole("button", { name: `Applicant accepted #${ticket.number}` }).click();
    await waiting.waitFor({ state: "detached" });
    await page.getByRole("status").filter({ hasText: `Recorded: Zora Neale accepted the offer on ticket #${ticket.number}.` }).waitFor();

    await page.goto(`/tickets/${ticket.id}`);
    await page.locator(".ticket-head .badge", { hasText: "Offer accepted" }).waitFor();
    const facts = page.locator(".facts");
    await facts.getByText(`Zora Neale (${ticket.applicantNumber})`).waitFor();
    await facts.getByText("Ada Lovelace, Grace Hopper").waitFor();
    const history = page.locator(".history");
    for (const step of ["Issued → Granted", "Granted → Offer requested", "Offer requested → Offer pending", "Offer pending → Offer accepted"]) {
      await history.getByText(step).waitFor();
    }
    // No moves are left on an accepted ticket.
    assert.equal(await page.locator(".ticket-head .ticket-actions").count(), 0);
    // The emails of each step, as notify-service recorded them.
    await page.locator("section", { has: page.getByRole("heading", { name: "Emails sent" }) }).locator("tbody tr").first().waitFor();
    if (LIVE) {
      // The owner's dashboard, open since the request, followed every step without a reload.
      await row(ada, "My tickets", ticket.number).locator(".badge", { hasText: "Offer accepted" }).waitFor();
    }
  });

  test("notes: add, edit and resolve one's own", async () => {
    const page = await (await context()).newPage();
    await signIn(page, PEOPLE.grad, { path: `/tickets/${ticket.id}` });
    await page.getByLabel("Add a note").fill("Offer letter sent by courier.");
    await page.getByRole("button", { name: "Add note" }).click();
    // The demo ticket has no notes: this one is the last (and only) one.
    const note = page.locator(".note-list > li").last();
    await note.getByText("Offer letter sent by courier.").waitFor();
    await note.getByRole("button", { name: "Edit" }).click();
    await note.getByLabel("Edit the note").fill("Offer letter sent by courier (tracked).");
    await note.getByRole("button", { name: "Save" }).click();
    await page.locator(".note", { hasText: "(tracked)" }).getByText("edited").waitFor();
    await page.locator(".note", { hasText: "(tracked)" }).getByRole("button", { name: "Resolve" }).click();
    await page.locator(".note", { hasText: "(tracked)" }).getByText("Resolved by Gwen Graduate").waitFor();
    await shot(page, "ticket");
  });

  test("the full list filters, sorts and pages", async () => {
    const page = await (await context()).newPage();
    await signIn(page, PEOPLE.grad, { path: "/tickets" });
    const rows = page.locator("section.browser tbody tr");
    const numbers = async () => (await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.ticket))));
    await rows.first().waitFor();
    const firstPage = await numbers();
    assert.equal(firstPage.length, 25);
    assert.deepEqual(firstPage, [...firstPage].sort((a, b) => a - b));

    await page.getByRole("button", { name: "Next →" }).click();
    await page.waitForURL(/after=/);
    await page.locator(`section.browser tr[data-ticket="${firstPage[24] + 1}"]`).waitFor();
    await page.getByRole("button", { name: "← Previous" }).click();
    await page.locator(`section.browser tr[data-ticket="${firstPage[0]}"]`).waitFor();

    await page.getByLabel("Sort direction").selectOption("DESC");
    await page.waitForURL(/dir=DESC/);
    await page.locator(`section.browser tbody tr:first-child[data-ticket="${ticket.number}"]`).waitFor();

    await page.getByRole("checkbox", { name: "Offer accepted" }).check();
    await page.waitForURL(/state=OFFER_ACCEPTED/);
    await page.locator(`section.browser tbody tr:first-child[data-ticket="${ticket.number}"]`).waitFor();
    const states = await page.locator("section.browser tbody .badge").allTextContents();
    assert.ok(states.length > 0 && states.every((s) => s === "Offer accepted"), states.join(", "));

    await page.getByLabel("Search").fill("Zora");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByRole("status").filter({ hasText: /^1 ticket$/ }).waitFor();
  });

  test("an export of the filtered list downloads as CSV", async () => {
    const page = await (await context()).newPage();
    await signIn(page, PEOPLE.grad, { path: `/tickets?q=${ticket.applicantNumber}` });
    await page.getByRole("status").filter({ hasText: /^1 ticket$/ }).waitFor();
    await page.getByRole("button", { name: "Export these tickets (CSV)" }).click();
    const link = page.getByRole("link", { name: "Download CSV" });
    await link.waitFor({ timeout: 60_000 });
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    const csv = readFileSync(await download.path(), "utf8");
    writeFileSync(join(SHOTS, "export.csv"), csv);
    // The file speaks the list's words: its headers and states are the ones on screen.
    assert.ok(csv.startsWith('\uFEFF"Ticket","Cycle","Funding","State","Faculty member"'), csv.slice(0, 80));
    const rows = csv.trim().split("\r\n");
    assert.equal(rows.length, 2, csv);
    assert.match(rows[1], new RegExp(`^"${ticket.number}","2027","Domestic","Offer accepted","Ada Lovelace",.*"${ticket.applicantNumber}","Zora Neale"`));
    assert.match(rows[1], /Offer letter sent by courier \(tracked\)\./);
  });

  test("the admin manages users and finds GraphiQL", async () => {
    const page = await (await context()).newPage();
    await signIn(page, PEOPLE.admin);
    const users = page.locator("table", { has: page.getByRole("columnheader", { name: "Roles" }) });
    await users.getByRole("cell", { name: "ada@example.edu" }).waitFor();
    assert.equal(await page.getByRole("link", { name: "Open the GraphQL playground (GraphiQL)" }).getAttribute("href"), "/graphiql");
    await shot(page, "admin");
    await page.getByLabel("Name", { exact: true }).fill("Edsger Dijkstra");
    await page.getByLabel("Email", { exact: true }).fill("edsger@example.edu");
    await page.getByLabel("Initial password").fill("a long enough password");
    await page.getByRole("button", { name: "Add user" }).click();
    await users.getByRole("cell", { name: "edsger@example.edu" }).waitFor();
    // A duplicate email is refused in words, next to the field.
    await page.getByLabel("Name", { exact: true }).fill("Edsger Again");
    await page.getByLabel("Email", { exact: true }).fill("EDSGER@example.edu");
    await page.getByLabel("Initial password").fill("a long enough password");
    await page.getByRole("button", { name: "Add user" }).click();
    await page.locator(".field-error", { hasText: /^Email: A user with the email edsger@example.edu already exists\.$/i }).waitFor();
  });

  test("after a dropped connection the page catches up on what it missed", { skip: !LIVE && "no subscriptions in schema.graphql yet" }, async () => {
    // Two fresh tickets of Ada's, open in her browser, which reaches the server through a
    // proxy that can cut her connections (the websocket too) as a network drop would.
    await budget.goto("/");
    await budget.getByLabel("Faculty member", { exact: true }).selectOption({ label: PEOPLE.ada.name });
    await budget.getByLabel("Number of tickets").fill("2");
    await budget.getByRole("button", { name: "Issue", exact: true }).click();
    const issued = await budget.getByRole("status").filter({ hasText: "Issued 2 tickets to Ada Lovelace" }).textContent();
    const [first, second] = issued.match(/#(\d+)–#(\d+)/).slice(1).map(Number);
    const idOf = async (number) =>
      (await row(budget, "Issued, waiting to be granted", number).getByRole("link").getAttribute("href")).split("/").pop();
    const [firstId, secondId] = [await idOf(first), await idOf(second)];
    const proxy = await startProxy(server.url);
    try {
      const page = await (await context({ baseURL: proxy.url })).newPage();
      const badge = page.locator(".ticket-head .badge");
      /** Cuts Ada's connections, grants the ticket meanwhile, restores them: her page catches up. */
      const grantWhileCut = async (id) => {
        proxy.cut();
        await page.locator(".live-reconnecting").waitFor();
        await budget.goto(`/tickets/${id}`);
        await budget.getByRole("button", { name: "Grant" }).click();
        await budget.getByRole("button", { name: /^Grant #\d+$/ }).click();
        await budget.locator(".ticket-head .badge", { hasText: "Granted" }).waitFor();
        assert.equal(await badge.textContent(), "Issued");
        proxy.restore();
        await page.locator(".live-live").waitFor({ timeout: 30_000 });
        await badge.filter({ hasText: "Granted" }).waitFor();
      };

      // Cut before any event reached the page: there is no `after` to resume from, so the
      // page reads itself again once back.
      await signIn(page, PEOPLE.ada, { path: `/tickets/${firstId}` });
      await badge.filter({ hasText: "Issued" }).waitFor();
      await page.locator(".live-live").waitFor();
      await grantWhileCut(firstId);

      // An event reaches the page live (the first ticket is cancelled while Ada watches it)...
      await budget.goto(`/tickets/${firstId}`);
      await budget.getByRole("button", { name: "Cancel ticket" }).click();
      await budget.getByLabel("Reason").fill("Funding moved to the second ticket.");
      await budget.getByRole("button", { name: `Cancel ticket #${first}` }).click();
      await badge.filter({ hasText: "Cancelled" }).waitFor();
      // ...then she goes to the second ticket within the app (the feed and its `after` stay).
      await page.getByRole("link", { name: "Dashboard" }).click();
      await row(page, "My tickets", second).getByRole("link").click();
      await badge.filter({ hasText: "Issued" }).waitFor();
      // A drop now resumes with `after` = the cancellation's id: the server replays the grant
      // made meanwhile, notice and all.
      await grantWhileCut(secondId);
      await page.getByRole("status").filter({ hasText: "Bianca Budget just moved this ticket to “Granted”." }).waitFor();
    } finally {
      await proxy.close();
    }
  });

  test("a deep link asked for while signed out opens after signing in", async () => {
    const page = await (await context()).newPage();
    await signIn(page, PEOPLE.chair, { path: `/tickets/${ticket.id}` });
    await page.getByRole("heading", { name: `Ticket #${ticket.number}` }).waitFor();
  });

  test("a session that ends sends the user back to sign-in with a message", async () => {
    const ctx = await context();
    const page = await ctx.newPage();
    await signIn(page, PEOPLE.ada);
    await page.getByRole("heading", { name: "My tickets" }).waitFor();
    // The session ends behind the page's back (as when it expires on the server). The page
    // learns it at once, with nothing clicked: the gateway closes the session's live
    // connection (4403) as soon as it ends.
    const response = await ctx.request.post("/auth/logout");
    assert.equal(response.status(), 204);
    await page.getByRole("status").filter({ hasText: "Your session has expired. Please sign in again." }).waitFor();
    await page.getByRole("heading", { name: "Sign in to Tessera" }).waitFor();
  });

  test("signing out returns to the sign-in page", async () => {
    const page = await (await context()).newPage();
    await signIn(page, PEOPLE.grad);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("status").filter({ hasText: "You have signed out." }).waitFor();
    // The cookie is worthless now: a reload stays signed out.
    await page.reload();
    await page.getByRole("heading", { name: "Sign in to Tessera" }).waitFor();
  });

  test("on a phone the dashboards fit the screen", async () => {
    const ctx = await context({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const page = await ctx.newPage();
    for (const [who, name] of [
      [PEOPLE.grad, "graduate-office-phone"],
      [PEOPLE.budget, "budget-director-phone"],
    ]) {
      await signIn(page, who);
      await page.getByRole("heading", { name: `Welcome, ${who.name}` }).waitFor();
      // The first screen, as the person sees it.
      await shot(page, name, { fullPage: false });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${name}: the page is ${overflow}px wider than the screen`);
      await page.getByRole("button", { name: "Sign out" }).click();
    }
  });
});
