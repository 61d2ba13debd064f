import { GraphQLError } from "graphql";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { CancelTicketDocument, GrantTicketDocument } from "../generated/graphql";
import { ME, renderWith, session, ticketRow } from "../test/render";
import { TicketActions } from "./TicketActions";

const ticket = ticketRow();
const budget = session({ me: { ...ME, id: "2", roles: ["BUDGET_DIRECTOR"] } });

describe("TicketActions", () => {
  it("shows one button per allowed transition and nothing else", () => {
    renderWith(<TicketActions ticket={ticket} />, { value: budget });
    const buttons = screen.getAllByRole("button").map((b) => b.textContent);
    expect(buttons).toEqual(["Grant", "Cancel ticket"]);
  });

  it("shows nothing for a ticket with no moves", () => {
    const { container } = renderWith(<TicketActions ticket={{ ...ticket, allowedTransitions: [] }} />, { value: budget });
    expect(container.textContent).toBe("");
  });

  it("grants with the version on screen", async () => {
    let sent: unknown = null;
    const mocks = [
      {
        request: { query: GrantTicketDocument, variables: { ticketId: "42", expectedVersion: 3 } },
        result: () => {
          sent = true;
          return { data: { grantTicket: { ...ticket, state: "GRANTED", version: 4, allowedTransitions: [] } } };
        },
      },
    ];
    renderWith(<TicketActions ticket={ticket} />, { value: budget, mocks });
    const warn = vi.spyOn(console, "warn");
    await userEvent.click(screen.getByRole("button", { name: "Grant" }));
    await waitFor(() => expect(sent).toBe(true));
    expect(screen.queryByRole("alert")).toBeNull();
    // Only queries on screen are refetched: naming others makes Apollo warn ("message 43").
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it("asks for a reason before cancelling, and reports a conflict in words", async () => {
    const mocks = [
      {
        request: { query: CancelTicketDocument, variables: { ticketId: "42", reason: "Budget cut", expectedVersion: 3 } },
        result: { errors: [new GraphQLError("version mismatch", { extensions: { code: "CONFLICT", version: 4 } })] },
      },
    ];
    renderWith(<TicketActions ticket={ticket} />, { value: budget, mocks });
    await userEvent.click(screen.getByRole("button", { name: "Cancel ticket" }));
    const reason = screen.getByLabelText("Reason");
    expect(reason).toHaveProperty("required", true);
    await userEvent.type(reason, "Budget cut");
    await userEvent.click(screen.getByRole("button", { name: "Cancel ticket #7" }));
    expect(await screen.findByRole("alert")).toHaveProperty(
      "textContent",
      "Someone else changed this ticket while you were looking at it. Check its current state and try again.",
    );
  });

  it("opens the offer form for the owner of a granted ticket", async () => {
    renderWith(<TicketActions ticket={{ ...ticket, state: "GRANTED", owner: { id: ME.id, name: ME.name }, allowedTransitions: ["OFFER_REQUESTED"] }} />);
    await userEvent.click(screen.getByRole("button", { name: "Request an offer" }));
    expect(screen.getByLabelText("Applicant name")).toBeTruthy();
    expect(screen.getByLabelText("Applicant number")).toBeTruthy();
    expect(screen.getByLabelText("Applicant email (optional)")).toBeTruthy();
  });
});
