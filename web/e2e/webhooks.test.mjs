// End-to-end: a faculty member makes a webhook on the Webhooks page of the real all-in-one
// binary, pointing at a receiver on this machine (allowed by WEBHOOK_ALLOW_HTTP and
// WEBHOOK_ALLOW_PRIVATE_ADDRESSES),
// sees its secret once, sends a test event, and watches the delivery arrive: the receiver
// checks the signature with that secret, and the page shows it Delivered with 200.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { PEOPLE, openBrowser, signIn } from "./browser.mjs";
import { startServer } from "./server.mjs";

let server;
let browser;
let receiver;
const received = [];
let secret = "";

/** The Standard Webhooks signature check (the spec's HMAC-SHA256 over id.timestamp.body). */
function verified(headers, body) {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = createHmac("sha256", key)
    .update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`)
    .digest("base64");
  return (headers["webhook-signature"] ?? "").split(" ").includes(`v1,${expected}`);
}

before(async () => {
  receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      const ok = verified(request.headers, body);
      received.push({ ok, body: JSON.parse(body) });
      response.writeHead(ok ? 200 : 401).end();
    });
  });
  await new Promise((done) => receiver.listen(0, "127.0.0.1", done));
  // The e2e server runs in production mode: this receiver is on loopback, over http.
  server = await startServer({ env: { WEBHOOK_ALLOW_HTTP: "true", WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "true" } });
  browser = await openBrowser(server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  receiver?.close();
});

describe("webhooks in a browser", () => {
  test("a faculty member makes a webhook, keeps its secret, and sees a test event delivered", async () => {
    const page = await (await browser.context()).newPage();
    await signIn(page, PEOPLE.ada);
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByRole("heading", { name: "Webhooks" }).waitFor();
    await page.getByLabel("URL").fill(`http://127.0.0.1:${receiver.address().port}/hook`);
    await page.getByLabel("Description").fill("Admissions dashboard");
    await page.getByRole("button", { name: "Create webhook" }).click();
    secret = (await page.getByLabel("Signing secret").textContent()) ?? "";
    assert.match(secret, /^whsec_/);
    await page.getByRole("button", { name: "Done" }).click();

    const card = page.getByRole("region", { name: "Webhook Admissions dashboard" });
    await card.getByRole("button", { name: "Send test event" }).click();
    await card.getByRole("cell", { name: "Delivered" }).waitFor({ timeout: 20_000 });
    await card.getByRole("cell", { name: "200" }).waitFor();
    assert.equal(received.length, 1);
    assert.equal(received[0].ok, true, "the receiver could not verify the signature");
    assert.equal(received[0].body.type, "webhook.test");
  });
});
