import { GraphQLError } from "graphql";
import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { NotificationPreferencesDocument, UpdateNotificationPreferencesDocument } from "../generated/graphql";
import { renderWith } from "../test/render";
import { NotificationsPage } from "./Notifications";

const TOPICS = ["STATE_CHANGES", "NOTES", "REMINDERS"] as const;
const CHANNELS = ["EMAIL", "IN_APP"] as const;

function deliveries(cadence: (topic: string, channel: string) => string) {
  return TOPICS.flatMap((topic) => CHANNELS.map((channel) => ({ __typename: "NotificationDelivery", topic, channel, cadence: cadence(topic, channel) })));
}

const defaults = {
  __typename: "NotificationPreferences",
  email: true,
  notes: false,
  timeZone: null,
  digestHour: 8,
  digestWeekday: "MONDAY",
  deliveries: deliveries((topic) => (topic === "NOTES" ? "OFF" : "IMMEDIATE")),
};
const query = {
  request: { query: NotificationPreferencesDocument },
  result: { data: { me: { __typename: "User", id: "1", notificationPreferences: defaults } } },
};
/** The variables a save sends when state changes by email go to a daily digest at 18:00 in Toronto. */
const chosen = {
  deliveries: deliveries((topic, channel) =>
    topic === "NOTES" ? "OFF" : topic === "STATE_CHANGES" && channel === "EMAIL" ? "DAILY" : "IMMEDIATE",
  ).map(({ topic, channel, cadence }) => ({ topic, channel, cadence })),
  timeZone: "America/Toronto",
  digestHour: 18,
  digestWeekday: "MONDAY",
};

async function choose() {
  await screen.findByText("What reaches you, and when");
  expect((screen.getByLabelText("Notes by email") as HTMLSelectElement).value).toBe("OFF");
  await userEvent.selectOptions(screen.getByLabelText("State changes by email"), "Daily digest");
  await userEvent.selectOptions(screen.getByLabelText("Time zone"), "America/Toronto");
  await userEvent.selectOptions(screen.getByLabelText("Hour"), "18:00");
  await userEvent.click(screen.getByRole("button", { name: "Save" }));
}

describe("notification settings", () => {
  it("shows the current choices and saves a daily digest at the chosen hour and zone", async () => {
    const saved = { ...defaults, timeZone: "America/Toronto", digestHour: 18, deliveries: chosen.deliveries.map((d) => ({ __typename: "NotificationDelivery", ...d })) };
    const mocks = [
      query,
      { request: { query: UpdateNotificationPreferencesDocument, variables: chosen }, result: { data: { updateNotificationPreferences: saved } } },
    ];
    renderWith(<NotificationsPage />, { mocks });
    await choose();
    expect(await screen.findByText("Saved.")).toBeTruthy();
  });

  it("shows a refused setting at its field", async () => {
    const refused = new GraphQLError("`Mars/Olympus` is not a time zone", { extensions: { code: "BAD_USER_INPUT", field: "timeZone" } });
    const mocks = [query, { request: { query: UpdateNotificationPreferencesDocument, variables: chosen }, result: { errors: [refused] } }];
    renderWith(<NotificationsPage />, { mocks });
    await choose();
    const messages = await screen.findAllByText(/is not a time zone/);
    expect(messages.length).toBeGreaterThan(0);
    expect(screen.queryByText("Saved.")).toBeNull();
  });
});
