import { GraphQLError } from "graphql";
import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { CreateTicketsDocument, UsersDocument } from "../generated/graphql";
import { renderWith } from "../test/render";
import { IssueTicketsForm, defaultCycle, issuedMessage } from "./IssueTicketsForm";

const faculty = {
  request: { query: UsersDocument, variables: { role: "FACULTY" } },
  result: {
    data: { users: [{ __typename: "User", id: "9", name: "Alan Turing", email: "alan@x.edu", roles: ["FACULTY"], active: true, supports: [] }] },
  },
};
const row = (n: number) => ({
  __typename: "Ticket",
  id: String(100 + n),
  number: n,
  cycle: "2027",
  residency: "INTERNATIONAL",
  state: "INITIAL",
  version: 1,
  updatedAt: "2026-11-01T10:00:00Z",
  dueAt: null,
  overdue: false,
  owner: { __typename: "User", id: "9", name: "Alan Turing" },
  applicant: null,
  allowedTransitions: ["GRANTED", "CANCELLED"],
});

async function fill(count: string) {
  await userEvent.selectOptions(screen.getByLabelText("Faculty member"), await screen.findByRole("option", { name: "Alan Turing" }));
  await userEvent.selectOptions(screen.getByLabelText("Funding"), "INTERNATIONAL");
  await userEvent.clear(screen.getByLabelText("Cycle"));
  await userEvent.type(screen.getByLabelText("Cycle"), "2027");
  await userEvent.clear(screen.getByLabelText("Number of tickets"));
  await userEvent.type(screen.getByLabelText("Number of tickets"), count);
  await userEvent.click(screen.getByRole("button", { name: "Issue" }));
}

describe("IssueTicketsForm", () => {
  it("says what it issued", () => {
    expect(issuedMessage([43, 41, 42], "Ada Lovelace")).toBe("Issued 3 tickets to Ada Lovelace: #41–#43.");
    expect(issuedMessage([7], "Ada Lovelace")).toBe("Issued 1 ticket to Ada Lovelace: #7.");
    expect(defaultCycle(new Date("2026-11-28T00:00:00Z"))).toBe("2027");
  });

  it("issues N tickets to the chosen faculty member", async () => {
    const input = { ownerId: "9", residency: "INTERNATIONAL", cycle: "2027", count: 2 };
    const mocks = [
      faculty,
      { request: { query: CreateTicketsDocument, variables: { input } }, result: { data: { createTickets: [row(41), row(42)] } } },
    ];
    renderWith(<IssueTicketsForm />, { mocks });
    await fill("2");
    expect((await screen.findByRole("status")).textContent).toContain("Issued 2 tickets to Alan Turing: #41–#42.");
  });

  it("refuses a count outside 1..50 before asking the server", async () => {
    // No mock for createTickets: a request would end in an error alert.
    renderWith(<IssueTicketsForm />, { mocks: [faculty] });
    await fill("51");
    const count = screen.getByLabelText("Number of tickets") as HTMLInputElement;
    expect(count.validity.rangeOverflow).toBe(true);
    await fill("2.5");
    expect(count.validity.stepMismatch).toBe(true);
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("shows the server's complaint about the cycle next to the cycle", async () => {
    const input = { ownerId: "9", residency: "INTERNATIONAL", cycle: "2027", count: 1 };
    const mocks = [
      faculty,
      {
        request: { query: CreateTicketsDocument, variables: { input } },
        result: { errors: [new GraphQLError("cycle 2027 is closed", { extensions: { code: "BAD_USER_INPUT", field: "cycle" } })] },
      },
    ];
    renderWith(<IssueTicketsForm />, { mocks });
    await fill("1");
    expect(await screen.findByText("Cycle 2027 is closed.", { selector: ".field-error" })).toBeTruthy();
  });
});
