import { describe, expect, it } from "vitest";
import { DEFAULT_VIEW, PAGE_SIZE, cycleProblem, filterOf, orderOf, pageOf, paramsFromView, viewFromParams, withChange } from "./listParams";

describe("list parameters", () => {
  it("round-trips a view through the URL, leaving defaults out", () => {
    const view = {
      ...DEFAULT_VIEW,
      states: ["OFFER_PENDING" as const, "GRANTED" as const],
      residency: "INTERNATIONAL" as const,
      cycle: "2027",
      search: "Okafor",
      sort: "UPDATED_AT" as const,
      direction: "DESC" as const,
      after: "abc",
    };
    const params = paramsFromView(view);
    expect(params.toString()).toBe("state=OFFER_PENDING%2CGRANTED&residency=INTERNATIONAL&cycle=2027&q=Okafor&sort=UPDATED_AT&dir=DESC&after=abc");
    expect(viewFromParams(params)).toEqual(view);
    expect(paramsFromView(DEFAULT_VIEW).toString()).toBe("");
  });

  it("ignores values the schema does not know instead of sending them", () => {
    const view = viewFromParams(new URLSearchParams("state=GRANTED,BOGUS,GRANTED&residency=MARS&sort=PRICE&dir=sideways"));
    expect(view.states).toEqual(["GRANTED"]);
    expect(view.residency).toBeNull();
    expect(view.sort).toBe("NUMBER");
    expect(view.direction).toBe("ASC");
  });

  it("builds the filter and order the list and its export are given", () => {
    expect(filterOf(DEFAULT_VIEW)).toEqual({});
    expect(filterOf({ ...DEFAULT_VIEW, states: ["CANCELLED"], cycle: " 2026 ", search: "  " })).toEqual({ states: ["CANCELLED"], cycle: "2026" });
    expect(orderOf({ ...DEFAULT_VIEW, sort: "OWNER_NAME", direction: "DESC" })).toEqual({ field: "OWNER_NAME", direction: "DESC" });
  });

  it("pages forwards from `after` and backwards to `before`", () => {
    expect(pageOf(DEFAULT_VIEW)).toEqual({ first: PAGE_SIZE });
    expect(pageOf({ ...DEFAULT_VIEW, after: "c1" })).toEqual({ first: PAGE_SIZE, after: "c1" });
    expect(pageOf({ ...DEFAULT_VIEW, before: "c2" })).toEqual({ last: PAGE_SIZE, before: "c2" });
    // Both in a hand-made URL: forwards wins.
    expect(viewFromParams(new URLSearchParams("after=a&before=b")).before).toBeNull();
  });

  it("a new filter or order goes back to the first page", () => {
    const paged = { ...DEFAULT_VIEW, after: "c1" };
    expect(withChange(paged, { search: "x" })).toEqual({ ...DEFAULT_VIEW, search: "x" });
  });

  it("a malformed cycle is explained, and never sent", () => {
    expect(cycleProblem("")).toBeNull();
    expect(cycleProblem(" 2027 ")).toBeNull();
    for (const bad of ["27", "20277", "abcd"]) expect(cycleProblem(bad)).toBe("Cycle must be four digits, such as 2027.");
    expect(filterOf({ ...DEFAULT_VIEW, cycle: "27" })).toEqual({});
    expect(filterOf({ ...DEFAULT_VIEW, cycle: "2027" })).toEqual({ cycle: "2027" });
  });
});
