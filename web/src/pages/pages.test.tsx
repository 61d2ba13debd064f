import { describe, expect, it } from "vitest";
import { coSupervised, dashboardsFor } from "./Dashboard";
import { ME } from "../test/render";
import { changeNotice } from "./TicketPage";
import type { LiveEvent } from "../liveContext";

describe("dashboards", () => {
  it("one per role, in the order people act, faculty support sharing the faculty one", () => {
    expect(dashboardsFor(["ADMIN", "BUDGET_DIRECTOR"])).toEqual(["BUDGET_DIRECTOR", "ADMIN"]);
    expect(dashboardsFor(["FSS"])).toEqual(["FSS"]);
    expect(dashboardsFor(["FSS", "FACULTY"])).toEqual(["FACULTY"]);
    expect(dashboardsFor([])).toEqual([]);
  });

  it("a faculty member's list marks the tickets they are on as a co-supervisor", () => {
    expect(coSupervised(ME, { owner: { id: ME.id, name: ME.name } })).toBe(false);
    expect(coSupervised(ME, { owner: { id: "9", name: "Grace Hopper" } })).toBe(true);
    // A colleague they support is not a co-supervision.
    expect(coSupervised({ ...ME, supports: [{ id: "9" }] }, { owner: { id: "9", name: "Grace Hopper" } })).toBe(false);
  });
});

describe("the ticket page's notice", () => {
  const event = (extra: Partial<LiveEvent>) =>
    ({ id: "1", kind: "STATE_CHANGED", at: "", fromState: "OFFER_REQUESTED", toState: "OFFER_PENDING", detail: null, actor: { id: "5", name: "Chandra Chair" }, ...extra }) as LiveEvent;

  it("names who changed the ticket and how", () => {
    expect(changeNotice(event({}))).toBe("Chandra Chair just moved this ticket to “Offer pending”.");
    expect(changeNotice(event({ kind: "NOTE_ADDED", toState: null }))).toBe("Chandra Chair just changed this ticket: note added.");
  });
});
