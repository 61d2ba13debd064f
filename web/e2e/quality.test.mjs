// End-to-end, issue 17's "first hour": every page of every role at desktop and phone size
// runs under the gateway's Content-Security-Policy with no console message, no request to
// another host and nothing serious for axe-core; GraphiQL works offline for an admin and is
// refused to others; an export follows its list; every move says what it did; a corrected
// field loses its error. Screenshots of each dashboard at both sizes go to target/e2e/.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { request } from "playwright-core";
import { CSP, DESKTOP, PEOPLE, PASSWORD, PHONE, accessibilityProblems, openBrowser, row, shot, signIn, watch } from "./browser.mjs";
import { startHeaderProxy, startServer } from "./server.mjs";

let server;
let browser;
/** The server behind the CSP every gateway response is to carry; the browser sees only it. */
let site;

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

/** Calls the API as `who` (a context of its own, outside any browser). */
async function api(who) {
  const ctx = await request.newContext({ baseURL: server.url });
  const login = await ctx.post("/auth/login", { data: { email: who.email, password: PASSWORD } });
  assert.equal(login.status(), 200);
  const call = async (query, variables = {}) => {
    const response = await ctx.post("/graphql", { data: { query, variables } });
    const body = await response.json();
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data;
  };
  call.get = (path) => ctx.get(path, { maxRedirects: 0 });
  return call;
}

/** `count` of Ada's tickets with an offer requested for each, by the API; their numbers. */
async function requestedTickets(count) {
  const budget = await api(PEOPLE.budget);
  const ada = await api(PEOPLE.ada);
  const { users } = await budget(`{ users(role: FACULTY) { id email } }`);
  const owner = users.find((u) => u.email === PEOPLE.ada.email).id;
  const { createTickets } = await budget(
    `mutation($o: ID!, $n: Int!) { createTickets(input: {ownerId: $o, residency: INTERNATIONAL, cycle: "2028", count: $n}) { id number } }`,
    { o: owner, n: count },
  );
  for (const t of createTickets) {
    await budget(`mutation($t: ID!) { grantTicket(ticketId: $t) { id } }`, { t: t.id });
    await ada(
      `mutation($t: ID!, $a: ApplicantInput!) { requestOffer(input: {ticketId: $t, applicant: $a}) { id } }`,
      { t: t.id, a: { name: `Applicant ${t.number}`, applicantNumber: `Q-${t.number}` } },
    );
  }
  return createTickets.map((t) => t.number);
}

/** Waits until nothing on the page is loading. */
async function settled(page) {
  await page.waitForFunction(() => document.querySelector(".loading") === null);
}

/**
 * In the page: what the phone layout must not do. A header button wrapped over two lines, a
 * chart label cut short, a table wider than its box (columns hidden off the side), a labelled
 * cell with nothing in it on show.
 */
function phoneLayoutProblems() {
  const problems = [];
  for (const button of document.querySelectorAll("header.top button")) {
    const lineHeight = parseFloat(getComputedStyle(button).lineHeight);
    if (button.getBoundingClientRect().height > 2 * lineHeight) problems.push(`the header's "${button.textContent}" wraps`);
  }
  for (const label of document.querySelectorAll(".bar-label")) {
    if (label.scrollWidth > label.clientWidth) problems.push(`the chart label "${label.textContent}" is cut off`);
  }
  for (const box of document.querySelectorAll(".table-scroll")) {
    if (box.scrollWidth > box.clientWidth) problems.push(`a table is ${box.scrollWidth - box.clientWidth}px wider than its box`);
  }
  for (const cell of document.querySelectorAll("td[data-label]")) {
    if (cell.childElementCount === 0 && cell.textContent.trim() === "" && cell.getClientRects().length > 0) {
      problems.push(`an empty "${cell.dataset.label}" shows`);
    }
  }
  return problems;
}

const ROLES = [
  ["budget-director", PEOPLE.budget],
  ["faculty", PEOPLE.ada],
  ["faculty-support", PEOPLE.fiona],
  ["associate-chair", PEOPLE.chair],
  ["graduate-office", PEOPLE.grad],
  ["admin", PEOPLE.admin],
];

describe("issue 17: a newcomer's first hour", () => {
  for (const [size, options] of [
    ["desktop", { viewport: DESKTOP }],
    ["phone", PHONE],
  ]) {
    test(`every page of every role at ${size} size: no console message, no outside request, nothing serious for axe`, async () => {
      const ctx = await browser.context(options);
      const seen = await watch(ctx, site.url);
      const page = await ctx.newPage();
      const problems = [];
      const check = async (what) => {
        await settled(page);
        for (const p of await accessibilityProblems(page)) problems.push(`${what}: ${p}`);
        if (size === "phone") {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          if (overflow > 0) problems.push(`${what}: the page is ${overflow}px wider than the screen`);
          for (const p of await page.evaluate(phoneLayoutProblems)) problems.push(`${what}: ${p}`);
        }
      };
      await page.goto("/");
      await page.getByRole("heading", { name: "Sign in to Tessera" }).waitFor();
      await check("sign-in");
      for (const [name, who] of ROLES) {
        await signIn(page, who, { path: null });
        await page.getByRole("heading", { name: `Welcome, ${who.name}` }).waitFor();
        await settled(page);
        await shot(page, size === "phone" ? `${name}-phone` : name, { fullPage: size !== "phone" });
        await check(`${name}'s dashboard`);
        await page.goto("/tickets");
        await page.locator("section.browser tbody tr").first().waitFor();
        await check(`${name}'s ticket list`);
        await page.locator("section.browser tbody tr").first().getByRole("link").click();
        await page.getByRole("heading", { name: /^Ticket #\d+/ }).waitFor();
        await check(`${name}'s ticket page`);
        await page.goto("/settings/webhooks");
        await page.getByRole("heading", { name: "Webhooks" }).waitFor();
        await check(`${name}'s webhooks page`);
        await page.goto("/settings/notifications");
        await page.getByRole("heading", { name: "What reaches you, and when" }).waitFor();
        await check(`${name}'s notification settings`);
        await page.goto("/inbox");
        await page.getByRole("heading", { name: "Inbox", exact: true }).waitFor();
        await check(`${name}'s inbox`);
        await page.goto("/no/such/page");
        await page.getByRole("heading", { name: "Page not found" }).waitFor();
        await check(`${name}'s page not found`);
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.getByRole("heading", { name: "Sign in to Tessera" }).waitFor();
      }
      assert.deepEqual(problems, []);
      assert.deepEqual(seen.console, [], "console messages");
      assert.deepEqual(seen.outside, [], "requests to other hosts");
    });
  }

  test("GraphiQL runs a query and a subscription offline for an admin, under its own CSP", async () => {
    const ctx = await browser.context({ viewport: DESKTOP });
    const seen = await watch(ctx, site.url);
    const page = await ctx.newPage();
    await signIn(page, PEOPLE.admin);
    // The gateway itself sends GraphiQL's policy (straight from it, not through the proxy).
    const direct = await (await api(PEOPLE.admin)).get("/graphiql");
    assert.equal(direct.status(), 200);
    assert.equal(direct.headers()["content-security-policy"], CSP);
    const response = await page.goto("/graphiql");
    assert.equal(response.status(), 200);
    const results = page.getByRole("region", { name: "Result Window" });

    // The query it opens with: the totals, once the editor has it.
    await page.locator(".graphiql-query-editor .CodeMirror-code").getByText("ticketStats").waitFor();
    await page.getByRole("button", { name: "Execute query (Ctrl-Enter)" }).click();
    await results.getByText('"ticketStats"').waitFor();
    await results.getByText('"total"').waitFor();

    // A subscription over the same websocket: a ticket issued meanwhile arrives.
    await page.evaluate(() =>
      document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(
        "subscription Issued { ticketEvents { kind ticket { number cycle } } }",
      ),
    );
    await page.getByRole("button", { name: "Execute query (Ctrl-Enter)" }).click();
    await page.getByRole("button", { name: "Stop query (Ctrl-Enter)" }).waitFor();
    const budget = await api(PEOPLE.budget);
    const { users } = await budget(`{ users(role: FACULTY) { id email } }`);
    const owner = users.find((u) => u.email === PEOPLE.ada.email).id;
    const [issued] = (
      await budget(
        `mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: "2029", count: 1}) { number } }`,
        { o: owner },
      )
    ).createTickets;
    await results.getByText(`"number": ${issued.number}`).waitFor();
    await results.getByText('"CREATED"').waitFor();
    assert.deepEqual(await accessibilityProblems(page), []);
    assert.deepEqual(seen.console, [], "console messages");
    assert.deepEqual(seen.outside, [], "requests to other hosts");
  });

  test("GraphiQL is refused to anyone but an admin in production, and sends the signed-out home", async () => {
    const ctx = await browser.context();
    const page = await ctx.newPage();
    const away = await page.goto("/graphiql");
    assert.equal(new URL(away.url()).pathname, "/");
    await page.getByRole("heading", { name: "Sign in to Tessera" }).waitFor();
    await signIn(page, PEOPLE.ada, { path: null });
    const refused = await page.goto("/graphiql");
    assert.equal(refused.status(), 403);
    await page.getByText("The GraphQL playground is for administrators.").waitFor();
    assert.equal(await page.locator(".graphiql-container").count(), 0);
  });

  test("an export follows its list: export, change the filter, export again", async () => {
    const page = await (await browser.context()).newPage();
    await signIn(page, PEOPLE.grad, { path: "/tickets" });
    const count = async () => Number((await page.getByRole("status").filter({ hasText: /^\d+ tickets?$/ }).textContent()).split(" ")[0]);
    const exportButton = page.getByRole("button", { name: "Export these tickets (CSV)" });
    const link = page.getByRole("link", { name: "Download CSV" });
    /** Exports the list on screen; the file's rows and where it was. */
    const exportList = async () => {
      await exportButton.click();
      await link.waitFor({ timeout: 60_000 });
      const href = await link.getAttribute("href");
      const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
      const lines = readFileSync(await download.path(), "utf8").trim().split("\r\n");
      return { href, rows: lines.length - 1 };
    };

    await page.locator("section.browser tbody tr").first().waitFor();
    const all = await count();
    const first = await exportList();
    assert.equal(first.rows, all);
    assert.equal(await exportButton.isEnabled(), true, "a finished export leaves the button usable");

    await page.getByRole("checkbox", { name: "Granted" }).check();
    await page.waitForURL(/state=GRANTED/);
    await page.getByRole("status").filter({ hasText: /^\d+ tickets?$/ }).filter({ hasNotText: `${all} ticket` }).waitFor();
    const granted = await count();
    assert.ok(granted < all, `${granted} of ${all}`);
    // The whole list's file is not offered next to the filtered list.
    await link.waitFor({ state: "detached" });
    const second = await exportList();
    assert.notEqual(second.href, first.href);
    assert.equal(second.rows, granted);
  });

  test("every move says what it did: approve, decline, accept, refuse", async () => {
    const [a, b, c] = await requestedTickets(3);
    const chair = await (await browser.context()).newPage();
    await signIn(chair, PEOPLE.chair);
    const queue = "Offer requests to approve or decline";
    for (const number of [a, b]) {
      await row(chair, queue, number).getByRole("button", { name: "Approve" }).click();
      await row(chair, queue, number).getByRole("button", { name: `Approve #${number}` }).click();
      await row(chair, queue, number).waitFor({ state: "detached" });
      await chair
        .getByRole("status")
        .filter({ hasText: `You approved the offer to Applicant ${number} on ticket #${number}. It now waits for the applicant's answer.` })
        .getByRole("link", { name: `Open ticket #${number}` })
        .waitFor();
    }
    await row(chair, queue, c).getByRole("button", { name: "Decline" }).click();
    await row(chair, queue, c).getByLabel("Reason").fill("The budget line is closed.");
    await row(chair, queue, c).getByRole("button", { name: `Decline #${c}` }).click();
    await chair
      .getByRole("status")
      .filter({ hasText: `You declined the offer request for Applicant ${c} on ticket #${c}. The ticket is back with Ada Lovelace, who may ask again.` })
      .waitFor();

    const grad = await (await browser.context()).newPage();
    await signIn(grad, PEOPLE.grad);
    const waiting = "Offers waiting for the applicant's answer";
    await row(grad, waiting, a).getByRole("button", { name: "Applicant accepted" }).click();
    // Nothing happens before the yes: Back leaves the ticket as it was.
    await row(grad, waiting, a).getByRole("button", { name: "Back" }).click();
    await row(grad, waiting, a).getByRole("button", { name: "Applicant accepted" }).click();
    await row(grad, waiting, a).getByRole("button", { name: `Applicant accepted #${a}` }).click();
    await grad.getByRole("status").filter({ hasText: `Recorded: Applicant ${a} accepted the offer on ticket #${a}.` }).waitFor();
    await row(grad, waiting, b).getByRole("button", { name: "Applicant refused" }).click();
    await row(grad, waiting, b).getByRole("button", { name: `Applicant refused #${b}` }).click();
    await grad
      .getByRole("status")
      .filter({ hasText: `Recorded: Applicant ${b} refused the offer on ticket #${b}. Ada Lovelace may request an offer for another applicant.` })
      .waitFor();
    await grad.getByRole("link", { name: `Open ticket #${b}` }).click();
    await grad.locator(".ticket-head .badge", { hasText: "Offer refused" }).waitFor();
  });

  test("a corrected field loses its error, in the form and in the list's filter", async () => {
    const page = await (await browser.context()).newPage();
    await signIn(page, PEOPLE.budget);
    await page.getByLabel("Faculty member", { exact: true }).selectOption({ label: PEOPLE.ada.name });
    const cycle = page.locator("form.issue").getByLabel("Cycle");
    await cycle.fill("27");
    await page.getByRole("button", { name: "Issue", exact: true }).click();
    const refused = page.locator("form.issue .field-error", { hasText: "Cycle must be four digits such as “2027”, not “27”." });
    await refused.waitFor();
    await cycle.fill("2027");
    await refused.waitFor({ state: "detached" });

    await page.goto("/tickets");
    await page.locator("section.browser tbody tr").first().waitFor();
    const listed = await page.getByRole("status").filter({ hasText: /^\d+ tickets?$/ }).textContent();
    const filter = page.locator("section.browser").getByLabel("Cycle");
    await filter.fill("27");
    await filter.press("Enter");
    const problem = page.locator("section.browser .field-error", { hasText: "Cycle must be four digits, such as 2027." });
    await problem.waitFor();
    // The list stays as it was, and there is no "Try again" to resend the bad cycle.
    assert.equal(await page.getByRole("status").filter({ hasText: /^\d+ tickets?$/ }).textContent(), listed);
    assert.equal(await page.getByRole("button", { name: "Try again" }).count(), 0);
    await filter.fill("2027");
    await problem.waitFor({ state: "detached" });
  });
});
