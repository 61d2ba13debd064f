import { GraphQLError } from "graphql";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { SetResponseDeadlineDocument } from "../generated/graphql";
import { ME, renderWith, session, ticketRow } from "../test/render";
import { DueDate } from "./common";
import { ResponseDate, dayOf, endOfDay } from "./ResponseDate";

const grad = session({ me: { ...ME, id: "6", roles: ["GRAD_OFFICE"] } });
const pending = ticketRow({ state: "OFFER_PENDING", dueAt: "2030-04-15T12:00:00Z", overdue: false, allowedTransitions: [] });

describe("response dates", () => {
  it("a day input's end of day is a moment of that day where the reader is", () => {
    const at = new Date(endOfDay("2030-04-15"));
    expect(dayOf(at)).toBe("2030-04-15");
    expect([at.getHours(), at.getMinutes()]).toEqual([23, 59]);
  });

  it("lists show the date, a badge once it has passed, and a dash when nothing is due", () => {
    const { container, rerender } = renderWith(<DueDate ticket={{ dueAt: "2030-04-15T12:00:00Z", overdue: false }} />);
    expect(container.querySelector("time")?.getAttribute("dateTime")).toBe("2030-04-15T12:00:00Z");
    expect(screen.queryByText("Overdue")).toBeNull();
    rerender(<DueDate ticket={{ dueAt: "2020-04-15T12:00:00Z", overdue: true }} />);
    expect(screen.getByText("Overdue")).toBeTruthy();
    rerender(<DueDate ticket={{ dueAt: null, overdue: false }} />);
    expect(container.textContent).toBe("—");
  });

  it("only the graduate office changes it, and only while the offer is out", () => {
    renderWith(<ResponseDate ticket={pending} />);
    expect(screen.queryByRole("button", { name: "Change the response date" })).toBeNull();
    renderWith(<ResponseDate ticket={{ ...pending, state: "OFFER_ACCEPTED", dueAt: null }} />, { value: grad });
    expect(screen.getByText("Nothing awaited")).toBeTruthy();
  });

  it("the graduate office picks a new day; a refusal is said in words", async () => {
    const day = dayOf(new Date(Date.now() + 20 * 24 * 3600 * 1000));
    const variables = { ticketId: "42", responseDueAt: endOfDay(day), expectedVersion: 3 };
    let sent = 0;
    const mocks = [
      {
        request: { query: SetResponseDeadlineDocument, variables },
        result: { errors: [new GraphQLError("the response date may be at most 366 days ahead", { extensions: { code: "BAD_USER_INPUT", field: "responseDueAt" } })] },
      },
      {
        request: { query: SetResponseDeadlineDocument, variables },
        result: () => {
          sent += 1;
          return { data: { setResponseDeadline: { ...pending, dueAt: variables.responseDueAt, version: 4 } } };
        },
      },
    ];
    renderWith(<ResponseDate ticket={pending} />, { value: grad, mocks });
    await userEvent.click(screen.getByRole("button", { name: "Change the response date" }));
    const input = screen.getByLabelText("The applicant answers by (end of day)");
    expect(input).toHaveProperty("value", "2030-04-15");
    fireEvent.change(input, { target: { value: day } });
    await userEvent.click(screen.getByRole("button", { name: "Save the date" }));
    expect((await screen.findByRole("alert")).textContent).toContain("366 days");
    await userEvent.click(screen.getByRole("button", { name: "Save the date" }));
    await waitFor(() => expect(sent).toBe(1));
    await waitFor(() => expect(screen.queryByLabelText("The applicant answers by (end of day)")).toBeNull());
  });
});
