// The ticket list's filter, order and page as URL search parameters, so a filtered list can
// be bookmarked, shared and navigated back to.
import type { OrderDirection, Residency, TicketFilter, TicketOrder, TicketOrderField, TicketState } from "./generated/graphql";
import { STATES } from "./labels";

export const PAGE_SIZE = 25;

const FIELDS: readonly TicketOrderField[] = ["NUMBER", "CREATED_AT", "UPDATED_AT", "STATE", "OWNER_NAME", "DUE_AT"];
const RESIDENCIES: readonly Residency[] = ["DOMESTIC", "INTERNATIONAL"];

export interface ListView {
  states: TicketState[];
  residency: Residency | null;
  cycle: string;
  search: string;
  sort: TicketOrderField;
  direction: OrderDirection;
  /** One of these is set to page; neither means the first page. */
  after: string | null;
  before: string | null;
}

export const DEFAULT_VIEW: ListView = {
  states: [],
  residency: null,
  cycle: "",
  search: "",
  sort: "NUMBER",
  direction: "ASC",
  after: null,
  before: null,
};

/** Reads a view from the URL; anything unknown is ignored rather than sent to the server. */
export function viewFromParams(params: URLSearchParams): ListView {
  const states = (params.get("state") ?? "")
    .split(",")
    .filter((s): s is TicketState => (STATES as string[]).includes(s));
  const residency = params.get("residency");
  const sort = params.get("sort");
  const direction = params.get("dir");
  return {
    states: [...new Set(states)],
    residency: (RESIDENCIES as (string | null)[]).includes(residency) ? (residency as Residency) : null,
    cycle: params.get("cycle") ?? "",
    search: params.get("q") ?? "",
    sort: (FIELDS as (string | null)[]).includes(sort) ? (sort as TicketOrderField) : DEFAULT_VIEW.sort,
    direction: direction === "DESC" ? "DESC" : "ASC",
    after: params.get("after") || null,
    before: params.get("after") ? null : params.get("before") || null,
  };
}

/** The URL parameters of a view, leaving defaults out. */
export function paramsFromView(view: ListView): URLSearchParams {
  const params = new URLSearchParams();
  if (view.states.length > 0) params.set("state", view.states.join(","));
  if (view.residency) params.set("residency", view.residency);
  if (view.cycle.trim()) params.set("cycle", view.cycle.trim());
  if (view.search.trim()) params.set("q", view.search.trim());
  if (view.sort !== DEFAULT_VIEW.sort) params.set("sort", view.sort);
  if (view.direction !== DEFAULT_VIEW.direction) params.set("dir", view.direction);
  if (view.after) params.set("after", view.after);
  else if (view.before) params.set("before", view.before);
  return params;
}

/** What is wrong with a cycle typed in the filter, in words; null when it can be used. */
export function cycleProblem(cycle: string): string | null {
  const text = cycle.trim();
  return text === "" || /^[0-9]{4}$/.test(text) ? null : "Cycle must be four digits, such as 2027.";
}

/**
 * The GraphQL filter of a view (also what an export of the list is given). A malformed cycle
 * (from an old link) is left out: the field says what is wrong with it.
 */
export function filterOf(view: ListView): TicketFilter {
  const filter: TicketFilter = {};
  if (view.states.length > 0) filter.states = view.states;
  if (view.residency) filter.residency = view.residency;
  if (view.cycle.trim() && cycleProblem(view.cycle) === null) filter.cycle = view.cycle.trim();
  if (view.search.trim()) filter.search = view.search.trim();
  return filter;
}

export function orderOf(view: ListView): TicketOrder {
  return { field: view.sort, direction: view.direction };
}

/** The page arguments: forwards from `after`, backwards to `before`, or the first page. */
export function pageOf(view: ListView): { first?: number; after?: string; last?: number; before?: string } {
  if (view.before) return { last: PAGE_SIZE, before: view.before };
  if (view.after) return { first: PAGE_SIZE, after: view.after };
  return { first: PAGE_SIZE };
}

/** A changed filter or order starts again at the first page. */
export function withChange(view: ListView, change: Partial<Omit<ListView, "after" | "before">>): ListView {
  return { ...view, ...change, after: null, before: null };
}
