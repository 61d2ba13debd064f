import { describe, expect, it } from "vitest";
import { actsForOwner, ticketActions } from "./transitions";

const owner = { id: "10", supports: [] };
const fss = { id: "20", supports: [{ id: "10" }] };
const chair = { id: "30", supports: [] };
const kinds = (...args: Parameters<typeof ticketActions>) => ticketActions(...args).map((a) => a.kind);

describe("ticketActions", () => {
  it("offers exactly the moves the server allows, in its order", () => {
    expect(kinds("INITIAL", ["GRANTED", "CANCELLED"], chair, "10")).toEqual(["grant", "cancel"]);
    expect(kinds("INITIAL", [], chair, "10")).toEqual([]);
    expect(kinds("GRANTED", ["OFFER_REQUESTED"], owner, "10")).toEqual(["requestOffer"]);
    expect(kinds("OFFER_REFUSED", ["OFFER_REQUESTED", "CANCELLED"], owner, "10")).toEqual(["requestOffer", "cancel"]);
    expect(kinds("OFFER_REQUESTED", ["OFFER_PENDING"], chair, "10")).toEqual(["approve"]);
    expect(kinds("OFFER_PENDING", ["OFFER_ACCEPTED", "OFFER_REFUSED"], chair, "10")).toEqual(["accept", "refuse"]);
  });

  it("back to GRANTED from a request is a withdrawal for the owner's side and a decline for anyone else", () => {
    expect(kinds("OFFER_REQUESTED", ["GRANTED"], owner, "10")).toEqual(["withdraw"]);
    expect(kinds("OFFER_REQUESTED", ["GRANTED"], fss, "10")).toEqual(["withdraw"]);
    expect(kinds("OFFER_REQUESTED", ["GRANTED", "OFFER_PENDING"], chair, "10")).toEqual(["decline", "approve"]);
  });

  it("asks for a reason where the mutation takes one", () => {
    const reasons = Object.fromEntries(
      [
        ...ticketActions("INITIAL", ["GRANTED", "CANCELLED"], chair, "10"),
        ...ticketActions("OFFER_REQUESTED", ["GRANTED"], chair, "10"),
        ...ticketActions("OFFER_REQUESTED", ["GRANTED"], owner, "10"),
      ].map((a) => [a.kind, a.reason]),
    );
    expect(reasons).toEqual({ grant: "none", cancel: "required", decline: "required", withdraw: "optional" });
  });

  it("never offers a move it has no mutation for", () => {
    expect(kinds("GRANTED", ["INITIAL"], owner, "10")).toEqual([]);
    expect(kinds("OFFER_PENDING", ["GRANTED"], owner, "10")).toEqual([]);
  });
});

describe("actsForOwner", () => {
  it("is the owner or someone who supports them", () => {
    expect(actsForOwner(owner, "10")).toBe(true);
    expect(actsForOwner(fss, "10")).toBe(true);
    expect(actsForOwner(fss, "11")).toBe(false);
    expect(actsForOwner(chair, "10")).toBe(false);
  });
});
