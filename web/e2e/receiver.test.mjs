// End-to-end: webhooks through the gateway of the real all-in-one binary, to a receiver that
// checks every request with the Standard Webhooks reference library (`standardwebhooks` on
// npm), as an integrator's would. Every event kind the workflow makes, visibility (a faculty
// member's hook never hears of another's ticket), filters by kind, state and ticket, secret
// rotation (both secrets verify during the overlap), and a tampered body or an old timestamp
// rejected by the receiver.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { signInApi } from "./api.mjs";
import { PEOPLE } from "./browser.mjs";
import { startServer } from "./server.mjs";

/**
 * The kinds only the scheduler makes (reminders, escalations: they need days to pass, and
 * have tests of their own with a moved clock); every other kind must be seen below, and
 * these, if the scheduler happens to send one about a demo ticket meanwhile, are left out.
 */
const TIMED_KINDS = ["DEADLINE_REMINDER", "DEADLINE_PASSED", "WAITING_REMINDER", "WAITING_ESCALATED"];

let server;
let receiver;
/** Each hook's secrets, by the path it receives on (`/hook/<name>`). */
const secrets = new Map();
/** Every request, by hook name: headers, raw body, and whether the library verified it. */
const got = new Map();

function receive(request, response) {
  let raw = "";
  request.setEncoding("utf8");
  request.on("data", (chunk) => (raw += chunk));
  request.on("end", () => {
    const name = request.url.replace(/^\/hook\//, "");
    const headers = {
      "webhook-id": request.headers["webhook-id"],
      "webhook-timestamp": request.headers["webhook-timestamp"],
      "webhook-signature": request.headers["webhook-signature"],
    };
    // Verified by every secret the hook has now: after a rotation, by the old and the new.
    const verdicts = (secrets.get(name) ?? []).map((secret) => {
      try {
        new Webhook(secret).verify(raw, headers);
        return true;
      } catch {
        return false;
      }
    });
    const ok = verdicts.length > 0 && verdicts.every(Boolean);
    const body = JSON.parse(raw);
    if (!ok || !TIMED_KINDS.includes(body.data?.kind)) {
      const list = got.get(name) ?? [];
      list.push({ headers, raw, verdicts, ok, body });
      got.set(name, list);
    }
    response.writeHead(ok ? 200 : 401).end();
  });
}

/**
 * Waits until `name` has at least `count` requests and no more come for half a second (or
 * 30 s pass), and answers them.
 */
async function arrived(name, count) {
  const sleep = () => new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < 300 && (got.get(name) ?? []).length < count; i++) await sleep();
  for (let seen = -1; seen !== (got.get(name) ?? []).length; ) {
    seen = (got.get(name) ?? []).length;
    for (let i = 0; i < 5; i++) await sleep();
  }
  return got.get(name) ?? [];
}

const kinds = (requests) => requests.map((r) => r.body.data.kind);

let api;
let ids;
let ticket;
let other;

before(async () => {
  receiver = createServer(receive);
  await new Promise((done) => receiver.listen(0, "127.0.0.1", done));
  // Production mode, the receiver on loopback over http: allowed by configuration.
  server = await startServer({
    env: { WEBHOOK_ALLOW_HTTP: "true", WEBHOOK_ALLOW_PRIVATE_ADDRESSES: "true", WEBHOOK_RETRY_BASE_MS: "200" },
  });
  api = {};
  ids = {};
  for (const who of ["budget", "ada", "chair", "grad", "admin"]) {
    api[who] = await signInApi(server.url, PEOPLE[who].email);
    ids[who] = (await api[who]("{ me { id } }")).me.id;
  }
  api.alan = await signInApi(server.url, "alan@example.edu");
  ids.alan = (await api.alan("{ me { id } }")).me.id;
  api.donald = await signInApi(server.url, "donald@example.edu");
  ids.donald = (await api.donald("{ me { id } }")).me.id;
});

after(async () => {
  await server?.stop();
  receiver?.close();
});

/** Makes a webhook as `who` to `/hook/<name>` with `input`'s filter; remembers its secret. */
async function hook(who, name, input = {}) {
  const url = `http://127.0.0.1:${receiver.address().port}/hook/${name}`;
  const { createWebhook } = await api[who](
    `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret webhook { id } } }`,
    { input: { url, description: name, ...input } },
  );
  secrets.set(name, [createWebhook.secret]);
  return createWebhook.webhook.id;
}

/** The workflow from issue to acceptance, one of each change, on one of Ada's tickets. */
async function walk() {
  const made = await api.budget(
    `mutation($input: CreateTicketsInput!) { createTickets(input: $input) { id } }`,
    { input: { ownerId: ids.ada, residency: "DOMESTIC", cycle: "2027", count: 2 } },
  );
  [ticket, other] = made.createTickets.map((t) => t.id);
  const move = (who, field, args = "") =>
    api[who](`mutation($id: ID!) { ${field}(ticketId: $id${args}) { id state } }`, { id: ticket });
  await move("budget", "grantTicket");
  await api.ada(
    `mutation($input: RequestOfferInput!) { requestOffer(input: $input) { id } }`,
    {
      input: {
        ticketId: ticket,
        applicant: { applicantNumber: "A-2027-0042", name: "Lin Webhook" },
        supervisorIds: [ids.donald],
      },
    },
  );
  await api.ada(`mutation($id: ID!, $s: [ID!]!) { setSupervisors(ticketId: $id, supervisorIds: $s) { id } }`, {
    id: ticket,
    s: [],
  });
  const { addNote } = await api.ada(`mutation($id: ID!) { addNote(ticketId: $id, body: "First note") { id } }`, {
    id: ticket,
  });
  await api.ada(`mutation($id: ID!) { editNote(noteId: $id, body: "Edited note") { id } }`, { id: addNote.id });
  await api.ada(`mutation($id: ID!) { resolveNote(noteId: $id) { id } }`, { id: addNote.id });
  await api.ada(`mutation($id: ID!) { deleteNote(noteId: $id) }`, { id: addNote.id });
  await move("chair", "approveOffer");
  const due = new Date(Date.now() + 20 * 86_400_000).toISOString();
  await move("grad", "setResponseDeadline", `, responseDueAt: "${due}"`);
  await move("grad", "recordOfferResponse", ", accepted: true");
}

describe("webhooks to a receiver using the standardwebhooks library", () => {
  test("every event kind arrives verified, in order, only to hooks whose owner may see it", async () => {
    await hook("ada", "ada-all");
    const alans = await hook("alan", "alan-all");
    await hook("ada", "notes-only", { events: ["NOTE_ADDED", "NOTE_EDITED"] });
    await hook("ada", "pending-only", { states: ["OFFER_PENDING"] });
    await hook("budget", "budget-all");
    await walk();
    // Introspection is an administrator's in production.
    const { __type } = await api.admin(`{ __type(name: "TicketEventKind") { enumValues { name } } }`);
    const every = __type.enumValues.map((v) => v.name).filter((k) => !TIMED_KINDS.includes(k));

    // Ada's hook: both tickets' creations and every change of the walked one, as it happened.
    const expected = [
      "CREATED", "CREATED", "STATE_CHANGED", "STATE_CHANGED", "APPLICANT_SET", "SUPERVISORS_CHANGED",
      "NOTE_ADDED", "NOTE_EDITED", "NOTE_RESOLVED", "NOTE_DELETED", "STATE_CHANGED", "DEADLINE_CHANGED",
      "STATE_CHANGED",
    ];
    const ada = await arrived("ada-all", expected.length);
    assert.ok(ada.every((r) => r.ok), "the library refused a request");
    assert.deepEqual([...new Set(kinds(ada))].sort(), [...every].sort(), "not every kind was delivered");
    const walked = ada.filter((r) => r.body.data.ticket.id === ticket);
    const states = walked.filter((r) => r.body.data.kind === "STATE_CHANGED").map((r) => r.body.data.toState);
    assert.deepEqual(states, ["GRANTED", "OFFER_REQUESTED", "OFFER_PENDING", "OFFER_ACCEPTED"]);
    assert.equal(new Set(ada.map((r) => r.headers["webhook-id"])).size, ada.length, "an event came twice");
    assert.equal(ada.find((r) => r.body.data.kind === "DEADLINE_CHANGED").body.type, "ticket.deadline_changed");

    // The budget director sees every ticket: the same events.
    assert.deepEqual(kinds(await arrived("budget-all", ada.length)).sort(), kinds(ada).sort());
    // Filters: only the kinds, only the state asked for.
    assert.deepEqual(kinds(await arrived("notes-only", 2)), ["NOTE_ADDED", "NOTE_EDITED"]);
    const pending = await arrived("pending-only", 2);
    assert.deepEqual(kinds(pending), ["STATE_CHANGED", "DEADLINE_CHANGED"]);
    assert.ok(pending.every((r) => r.body.data.ticket.state === "OFFER_PENDING"));
    // Alan is neither owner nor supervisor of these tickets: his hook has no delivery of
    // them (each event's deliveries to every hook are written at once, before any is sent,
    // so his would exist by now) and his receiver heard nothing. A reminder the scheduler
    // sends meanwhile about one of his own demo tickets is his to hear, and left out.
    const { webhook } = await api.alan(
      `query($id: ID!) { webhook(id: $id) { deliveries(first: 100) { nodes { eventType } } } }`,
      { id: alans },
    );
    const timed = TIMED_KINDS.map((k) => `ticket.${k.toLowerCase()}`);
    assert.deepEqual(webhook.deliveries.nodes.filter((d) => !timed.includes(d.eventType)), []);
    assert.deepEqual(got.get("alan-all") ?? [], []);
  });

  test("a hook on one ticket hears only that ticket", async () => {
    const id = await hook("ada", "one-ticket", { ticketId: other });
    await api.ada(`mutation($id: ID!) { addNote(ticketId: $id, body: "On the walked ticket") { id } }`, { id: ticket });
    await api.ada(`mutation($id: ID!) { addNote(ticketId: $id, body: "On the other ticket") { id } }`, { id: other });
    const heard = await arrived("one-ticket", 1);
    const { webhook } = await api.ada(`query($id: ID!) { webhook(id: $id) { deliveries { totalCount } } }`, { id });
    assert.equal(webhook.deliveries.totalCount, 1);
    assert.equal(heard.length, 1);
    assert.equal(heard[0].body.data.ticket.id, other);
    assert.ok(heard[0].ok);
  });

  test("after a rotation both secrets verify, and a tampered body or an old timestamp is refused", async () => {
    const id = await hook("ada", "rotated");
    const { rotateWebhookSecret } = await api.ada(
      `mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { id } } }`,
      { id },
    );
    const [old] = secrets.get("rotated");
    assert.notEqual(rotateWebhookSecret.secret, old);
    secrets.set("rotated", [old, rotateWebhookSecret.secret]);
    await api.ada(`mutation($id: ID!) { addNote(ticketId: $id, body: "After the rotation") { id } }`, { id: other });
    const [request] = await arrived("rotated", 1);
    assert.deepEqual(request.verdicts, [true, true], "each secret alone verifies the request");
    assert.equal(request.headers["webhook-signature"].split(" ").length, 2);

    const library = new Webhook(rotateWebhookSecret.secret);
    const tampered = request.raw.replace("After the rotation", "After the rotation!");
    assert.throws(() => library.verify(tampered, request.headers), /signature/i);
    // Signed correctly, but ten minutes ago: the library's replay window refuses it.
    const then = new Date(Date.now() - 10 * 60_000);
    const replayed = {
      "webhook-id": request.headers["webhook-id"],
      "webhook-timestamp": String(Math.floor(then.getTime() / 1000)),
      "webhook-signature": library.sign(request.headers["webhook-id"], then, request.raw),
    };
    assert.throws(() => library.verify(request.raw, replayed), /timestamp/i);
  });
});
