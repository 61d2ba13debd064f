import { GraphQLError } from "graphql";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { RequestOfferDocument, UsersDocument, type TicketRowFragment } from "../generated/graphql";
import { ME, renderWith, ticketRow } from "../test/render";
import { RequestOfferForm } from "./RequestOfferForm";

const ticket = ticketRow({
  state: "GRANTED",
  version: 5,
  owner: { __typename: "User", id: ME.id, name: ME.name } as TicketRowFragment["owner"],
  allowedTransitions: ["OFFER_REQUESTED"],
});
const user = (id: string, name: string) => ({ __typename: "User", id, name, email: `${id}@x.edu`, roles: ["FACULTY"], active: true, supports: [] });
const faculty = {
  request: { query: UsersDocument, variables: { role: "FACULTY" } },
  result: { data: { users: [user(ME.id, ME.name), user("3", "Grace Hopper"), user("4", "Alan Turing")] } },
};
const input = {
  ticketId: "42",
  applicant: { name: "Bao Nguyen", applicantNumber: "A-100", email: null },
  supervisorIds: ["3"],
  expectedVersion: 5,
};

async function fill() {
  await userEvent.type(screen.getByLabelText("Applicant name"), "Bao Nguyen");
  await userEvent.type(screen.getByLabelText("Applicant number"), "A-100");
  await userEvent.click(await screen.findByRole("checkbox", { name: "Grace Hopper" }));
  await userEvent.click(screen.getByRole("button", { name: "Send request" }));
}

describe("RequestOfferForm", () => {
  it("lists the other faculty as possible supervisors and sends the request", async () => {
    const onDone = vi.fn();
    const mocks = [
      faculty,
      {
        request: { query: RequestOfferDocument, variables: { input } },
        result: { data: { requestOffer: { ...ticket, state: "OFFER_REQUESTED", supervisors: [] } } },
      },
    ];
    renderWith(<RequestOfferForm ticket={ticket} onDone={onDone} />, { mocks });
    expect(await screen.findByRole("checkbox", { name: "Alan Turing" })).toBeTruthy();
    // The owner is always a supervisor, so is not offered.
    expect(screen.queryByRole("checkbox", { name: ME.name })).toBeNull();
    await fill();
    await waitFor(() => expect(onDone).toHaveBeenCalled());
  });

  it("puts a BAD_USER_INPUT error next to the field it names", async () => {
    const onDone = vi.fn();
    const mocks = [
      faculty,
      {
        request: { query: RequestOfferDocument, variables: { input } },
        result: {
          errors: [
            new GraphQLError("applicant A-100 already has an open offer on ticket 3", {
              extensions: { code: "BAD_USER_INPUT", field: "applicantNumber" },
            }),
          ],
        },
      },
    ];
    renderWith(<RequestOfferForm ticket={ticket} onDone={onDone} />, { mocks });
    await fill();
    const message = "Applicant number: Applicant A-100 already has an open offer on ticket 3.";
    expect(await screen.findByText(message, { selector: ".field-error" })).toBeTruthy();
    expect(onDone).not.toHaveBeenCalled();
    // Editing another field leaves the error; correcting the field it is about clears it.
    await userEvent.type(screen.getByLabelText("Applicant name"), " Jr");
    expect(screen.getByText(message, { selector: ".field-error" })).toBeTruthy();
    await userEvent.clear(screen.getByLabelText("Applicant number"));
    await userEvent.type(screen.getByLabelText("Applicant number"), "A-101");
    expect(screen.queryByText(message)).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
