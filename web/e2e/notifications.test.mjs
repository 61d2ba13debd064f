// End-to-end: notification settings against the real all-in-one binary. Ada chooses a daily
// digest for state changes (by email and in her inbox) at 18:00 in Toronto; the choice is
// kept across a reload; then the budget director grants her a ticket: its email to her waits
// for her digest (DIGEST, not sent alone) and her inbox count does not move until then. The
// page has nothing serious for axe.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { signInApi } from "./api.mjs";
import { PEOPLE, accessibilityProblems, openBrowser, signIn } from "./browser.mjs";
import { startServer } from "./server.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await openBrowser(server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe("notification settings in a browser", () => {
  test("a daily digest chosen in the settings holds back the email and the inbox item", async () => {
    const page = await (await browser.context()).newPage();
    await signIn(page, PEOPLE.ada);
    await page.getByRole("link", { name: "Notifications", exact: true }).click();
    await page.getByRole("heading", { name: "What reaches you, and when" }).waitFor();
    await page.getByLabel("State changes by email").selectOption({ label: "Daily digest" });
    await page.getByLabel("State changes by inbox").selectOption({ label: "Daily digest" });
    await page.getByLabel("Time zone").selectOption("America/Toronto");
    await page.getByLabel("Hour").selectOption({ label: "18:00" });
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved.").waitFor();
    assert.deepEqual(await accessibilityProblems(page), []);

    await page.reload();
    await page.getByRole("heading", { name: "What reaches you, and when" }).waitFor();
    assert.equal(await page.getByLabel("State changes by email").inputValue(), "DAILY");
    assert.equal(await page.getByLabel("Time zone").inputValue(), "America/Toronto");
    assert.equal(await page.getByLabel("Hour").inputValue(), "18");

    const ada = await signInApi(server.url, PEOPLE.ada.email);
    const before = (await ada(`{ inboxUnreadCount }`)).inboxUnreadCount;
    const budget = await signInApi(server.url, PEOPLE.budget.email);
    const { users } = await budget(`{ users(role: FACULTY) { id email } }`);
    const owner = users.find((u) => u.email === PEOPLE.ada.email).id;
    const { createTickets } = await budget(
      `mutation($o: ID!) { createTickets(input: {ownerId: $o, residency: DOMESTIC, cycle: "2027", count: 1}) { id } }`,
      { o: owner },
    );
    const id = createTickets[0].id;
    await budget(`mutation($id: ID!) { grantTicket(ticketId: $id) { state } }`, { id });
    // The email worker writes the row within moments; it waits for the digest.
    let status;
    for (let i = 0; i < 100 && !status; i++) {
      const { ticket } = await budget(`query($id: ID!) { ticket(id: $id) { notifications { status recipient { email } } } }`, { id });
      status = ticket.notifications.find((n) => n.recipient.email === PEOPLE.ada.email)?.status;
      if (!status) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, "DIGEST");
    assert.equal((await ada(`{ inboxUnreadCount }`)).inboxUnreadCount, before, "the inbox item waits for the digest too");
  });
});
