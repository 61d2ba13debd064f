import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { TicketsDocument } from "../generated/graphql";
import { renderWith, ticketRow } from "../test/render";
import { TicketBrowser } from "./TicketBrowser";

const page = (nodes: ReturnType<typeof ticketRow>[]) => ({
  data: {
    tickets: {
      __typename: "TicketConnection",
      nodes,
      pageInfo: { __typename: "PageInfo", hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      totalCount: nodes.length,
    },
  },
});
const list = (filter: object) => ({
  request: { query: TicketsDocument, variables: { filter, orderBy: { field: "NUMBER", direction: "ASC" }, first: 25 } },
  result: page([ticketRow(), ticketRow({ id: "43", number: 8 })]),
});

describe("TicketBrowser", () => {
  it("a malformed cycle is explained by the field, keeps the list, and the error goes as it is corrected", async () => {
    renderWith(<TicketBrowser />, { mocks: [list({}), list({ cycle: "2027" })], path: "/tickets" });
    await screen.findByText("2 tickets");
    const cycle = screen.getByLabelText("Cycle");
    await userEvent.type(cycle, "27{Enter}");
    const problem = "Cycle must be four digits, such as 2027.";
    expect(screen.getByText(problem, { selector: ".field-error" })).toBeTruthy();
    expect(cycle.getAttribute("aria-invalid")).toBe("true");
    // Nothing was sent: the list is still there, and no "Try again" resends a bad input.
    expect(screen.getByText("2 tickets")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Try again" })).toBeNull();
    await userEvent.type(cycle, "2");
    expect(screen.queryByText(problem)).toBeNull();
    await userEvent.clear(cycle);
    await userEvent.type(cycle, "2027{Enter}");
    expect(screen.queryByText(problem)).toBeNull();
    expect(await screen.findByText("2 tickets")).toBeTruthy();
  });
});
