import { GraphQLError } from "graphql";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApproveOfferDocument, CancelTicketDocument, GrantTicketDocument, UsersDocument, WithdrawOfferRequestDocument } from "../generated/graphql";
import { ME, renderWith, session, ticketRow } from "../test/render";
import { dayOf, endOfDay } from "./ResponseDate";
import { TicketActions, defaultResponseDay } from "./TicketActions";

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
    // A grant cannot be taken back: nothing is sent before the person says yes.
    expect(screen.getByText("Grant ticket #7 to Alan Turing? A granted ticket cannot go back to issued.")).toBeTruthy();
    expect(sent).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Grant #7" }));
    await waitFor(() => expect(sent).toBe(true));
    expect(screen.queryByRole("alert")).toBeNull();
    const report = await screen.findByRole("status");
    expect(report.textContent).toContain("Ticket #7 is granted: Alan Turing can now request an offer with it.");
    expect(screen.getByRole("link", { name: "Open ticket #7" }).getAttribute("href")).toBe("/tickets/42");
    // Only queries on screen are refetched: naming others makes Apollo warn ("message 43").
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it("approving asks first, with the applicant's response date, then says what happened; Back changes nothing", async () => {
    const chair = session({ me: { ...ME, id: "5", roles: ["ASSOCIATE_CHAIR"] } });
    const inAMonth = dayOf(new Date(Date.now() + 30 * 24 * 3600 * 1000));
    const requested = ticketRow({
      state: "OFFER_REQUESTED",
      allowedTransitions: ["GRANTED", "OFFER_PENDING"],
      applicant: { id: "3", applicantNumber: "A-1", name: "Zora Neale", email: null },
    });
    const mocks = [
      {
        request: { query: ApproveOfferDocument, variables: { ticketId: "42", expectedVersion: 3, responseDueAt: endOfDay(inAMonth) } },
        result: { data: { approveOffer: { ...requested, state: "OFFER_PENDING", version: 4, allowedTransitions: [] } } },
      },
    ];
    renderWith(<TicketActions ticket={requested} />, { value: chair, mocks });
    await userEvent.click(screen.getByRole("button", { name: "Approve" }));
    await userEvent.click(screen.getByRole("button", { name: "Back" }));
    expect(screen.queryByRole("status")).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Approve" }));
    expect(screen.getByRole("form", { name: "Approve the offer to Zora Neale on ticket #7? This cannot be undone." })).toBeTruthy();
    // Two weeks unless the person picks another day.
    const due = screen.getByLabelText("The applicant answers by (end of day)");
    expect(due).toHaveProperty("value", defaultResponseDay());
    fireEvent.change(due, { target: { value: inAMonth } });
    await userEvent.click(screen.getByRole("button", { name: "Approve #7" }));
    expect((await screen.findByRole("status")).textContent).toContain(
      "You approved the offer to Zora Neale on ticket #7. It now waits for the applicant's answer.",
    );
  });

  it("a withdrawal offers the way back", async () => {
    const requested = ticketRow({
      state: "OFFER_REQUESTED",
      owner: { id: ME.id, name: ME.name },
      allowedTransitions: ["GRANTED"],
      applicant: { id: "3", applicantNumber: "A-1", name: "Zora Neale", email: null },
    });
    const mocks = [
      {
        request: { query: WithdrawOfferRequestDocument, variables: { ticketId: "42", reason: null, expectedVersion: 3 } },
        result: { data: { withdrawOfferRequest: { ...requested, state: "GRANTED", version: 4, allowedTransitions: ["OFFER_REQUESTED"] } } },
      },
    ];
    renderWith(<TicketActions ticket={requested} />, { mocks });
    await userEvent.click(screen.getByRole("button", { name: "Withdraw request" }));
    await userEvent.click(screen.getByRole("button", { name: "Withdraw request #7" }));
    expect((await screen.findByRole("status")).textContent).toContain("You withdrew the offer request on ticket #7. The ticket is granted again.");
    expect(screen.getByRole("link", { name: "Request an offer again" }).getAttribute("href")).toBe("/tickets/42");
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
    // The form lists the faculty who may co-supervise.
    const faculty = { request: { query: UsersDocument, variables: { role: "FACULTY" } }, result: { data: { users: [] } } };
    renderWith(<TicketActions ticket={{ ...ticket, state: "GRANTED", owner: { id: ME.id, name: ME.name }, allowedTransitions: ["OFFER_REQUESTED"] }} />, {
      mocks: [faculty],
    });
    await userEvent.click(screen.getByRole("button", { name: "Request an offer" }));
    expect(screen.getByLabelText("Applicant name")).toBeTruthy();
    expect(screen.getByLabelText("Applicant number")).toBeTruthy();
    expect(screen.getByLabelText("Applicant email (optional)")).toBeTruthy();
  });
});
