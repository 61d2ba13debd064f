import { GraphQLError } from "graphql";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { AddClosedDayDocument, ClosedDaysDocument, RemoveClosedDayDocument } from "../generated/graphql";
import { ME, renderWith, session } from "../test/render";
import { ClosedDays, dayLabel } from "./ClosedDays";
import { dashboardsFor } from "../pages/Dashboard";

const admin = session({ me: { ...ME, id: "9", roles: ["ADMIN"] } });
const list = (days: { date: string; label: string }[]) => ({
  request: { query: ClosedDaysDocument },
  result: { data: { closedDays: days.map((d) => ({ __typename: "ClosedDay", ...d })) } },
});

describe("closed days", () => {
  it("names the day itself, wherever the reader is", () => {
    expect(dayLabel("2027-12-27")).toContain("27");
    expect(dayLabel("2027-12-27")).toContain("2027");
  });

  it("an administrator's dashboard lists them, earliest first as the server sends them", async () => {
    expect(dashboardsFor(["ADMIN"])).toEqual(["ADMIN"]);
    renderWith(<ClosedDays />, { value: admin, mocks: [list([{ date: "2027-07-01", label: "Canada Day" }, { date: "2027-12-27", label: "Winter closure" }])] });
    const items = await screen.findAllByRole("listitem");
    expect(items.map((li) => li.querySelector("time")?.getAttribute("dateTime"))).toEqual(["2027-07-01", "2027-12-27"]);
    expect(items[1].textContent).toContain("Winter closure");
  });

  it("says when there are none", async () => {
    renderWith(<ClosedDays />, { value: admin, mocks: [list([])] });
    expect(await screen.findByText("No closed days.")).toBeTruthy();
  });

  it("adds a day; a refused date is said at the date field", async () => {
    let added = 0;
    const mocks = [
      list([]),
      {
        request: { query: AddClosedDayDocument, variables: { date: "2027-12-27", label: "Winter closure" } },
        result: { errors: [new GraphQLError("2027-12-27 is already a closed day", { extensions: { code: "BAD_USER_INPUT", field: "date" } })] },
      },
      {
        request: { query: AddClosedDayDocument, variables: { date: "2027-12-27", label: "Winter closure" } },
        result: () => {
          added += 1;
          return { data: { addClosedDay: { __typename: "ClosedDay", date: "2027-12-27", label: "Winter closure" } } };
        },
      },
      list([{ date: "2027-12-27", label: "Winter closure" }]),
    ];
    renderWith(<ClosedDays />, { value: admin, mocks });
    await screen.findByText("No closed days.");
    fireEvent.change(screen.getByLabelText("Day"), { target: { value: "2027-12-27" } });
    await userEvent.type(screen.getByLabelText("Label"), "  Winter closure ");
    await userEvent.click(screen.getByRole("button", { name: "Add closed day" }));
    expect((await screen.findAllByText("Day: 2027-12-27 is already a closed day.")).length).toBeGreaterThan(0);
    await userEvent.click(screen.getByRole("button", { name: "Add closed day" }));
    await waitFor(() => expect(added).toBe(1));
    expect((await screen.findByRole("status")).textContent).toContain("Closed on");
  });

  it("removes a day", async () => {
    let removed = 0;
    const mocks = [
      list([{ date: "2027-07-01", label: "Canada Day" }]),
      {
        request: { query: RemoveClosedDayDocument, variables: { date: "2027-07-01" } },
        result: () => {
          removed += 1;
          return { data: { removeClosedDay: { __typename: "ClosedDay", date: "2027-07-01", label: "Canada Day" } } };
        },
      },
      list([]),
    ];
    renderWith(<ClosedDays />, { value: admin, mocks });
    const item = await screen.findByRole("listitem");
    await userEvent.click(within(item).getByRole("button", { name: /Remove/ }));
    await waitFor(() => expect(removed).toBe(1));
    expect(await screen.findByText("No closed days.")).toBeTruthy();
  });
});
