// End-to-end: the administrator keeps the office's closed days on their dashboard (against
// the real all-in-one binary): adds one, sees a day closed twice refused at the field, and
// removes it; nothing serious for axe-core on the way.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
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

describe("closed days in a browser", () => {
  test("an administrator adds a closed day, is told when it is closed already, and removes it", async () => {
    const page = await (await browser.context()).newPage();
    await signIn(page, PEOPLE.admin);
    const section = page.getByRole("region", { name: "Closed days", exact: true });
    await section.waitFor();
    await section.getByLabel("Day", { exact: true }).fill("2027-12-27");
    await section.getByLabel("Label", { exact: true }).fill("Winter closure");
    await section.getByRole("button", { name: "Add closed day" }).click();
    const item = section.getByRole("listitem").filter({ hasText: "Winter closure" });
    await item.waitFor();
    assert.equal(await item.locator("time").getAttribute("datetime"), "2027-12-27");
    await section.getByLabel("Day", { exact: true }).fill("2027-12-27");
    await section.getByLabel("Label", { exact: true }).fill("Again");
    await section.getByRole("button", { name: "Add closed day" }).click();
    await section.getByText("Day: 2027-12-27 is already a closed day.").first().waitFor();
    assert.deepEqual(await accessibilityProblems(page), []);
    await item.getByRole("button", { name: /Remove/ }).click();
    await section.getByText("No closed days.").waitFor();
  });
});
