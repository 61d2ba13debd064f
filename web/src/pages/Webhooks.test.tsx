import { GraphQLError } from "graphql";
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import {
  CreateWebhookDocument,
  RedeliverWebhookDeliveryDocument,
  WebhookDeliveriesDocument,
  WebhooksDocument,
} from "../generated/graphql";
import { renderWith } from "../test/render";
import { WebhooksPage } from "./Webhooks";

const hook = {
  __typename: "Webhook",
  id: "5",
  url: "https://hooks.example.edu/in",
  description: "Dashboard",
  events: ["STATE_CHANGED"],
  active: true,
  disabledReason: null,
  secretPreview: "whsec_abcd…",
  previousSecretExpiresAt: null,
};
const delivery = {
  __typename: "WebhookDelivery",
  id: "11",
  eventType: "ticket.state_changed",
  status: "FAILED",
  attempts: 3,
  responseCode: 500,
  lastError: "the receiver answered 500",
  nextAttemptAt: null,
  createdAt: "2026-12-02T10:00:00Z",
};
const list = (webhooks: unknown[]) => ({ request: { query: WebhooksDocument }, result: { data: { webhooks } } });
const deliveries = (nodes: unknown[]) => ({
  request: { query: WebhookDeliveriesDocument, variables: { id: "5" } },
  result: { data: { webhook: { __typename: "Webhook", id: "5", deliveries: { __typename: "WebhookDeliveryConnection", nodes } } } },
});

describe("webhooks page", () => {
  it("creates a webhook and shows its secret once", async () => {
    const input = { url: "https://hooks.example.edu/in", description: "Dashboard", events: ["STATE_CHANGED"] };
    const mocks = [
      list([]),
      {
        request: { query: CreateWebhookDocument, variables: { input } },
        result: { data: { createWebhook: { __typename: "CreatedWebhook", secret: "whsec_SECRET", webhook: hook } } },
      },
      list([hook]),
      deliveries([]),
    ];
    renderWith(<WebhooksPage />, { mocks });
    expect(await screen.findByText("No webhooks yet.")).toBeTruthy();
    await userEvent.type(screen.getByLabelText("URL"), input.url);
    await userEvent.type(screen.getByLabelText("Description"), "Dashboard");
    await userEvent.click(screen.getByLabelText("State changed"));
    await userEvent.click(screen.getByRole("button", { name: "Create webhook" }));
    expect((await screen.findByLabelText("Signing secret")).textContent).toBe("whsec_SECRET");
    expect(screen.getByRole("button", { name: "Copy" })).toBeTruthy();
    const card = await screen.findByRole("region", { name: "Webhook Dashboard" });
    expect(within(card).getByText("whsec_abcd…")).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "Done" }));
    expect(screen.queryByLabelText("Signing secret")).toBeNull();
  });

  it("names the field a refused URL is about", async () => {
    const input = { url: "http://10.0.0.1/", description: "", events: [] };
    const mocks = [
      list([]),
      {
        request: { query: CreateWebhookDocument, variables: { input } },
        result: {
          errors: [
            new GraphQLError("the URL points at a private address; webhooks may only reach public addresses", {
              extensions: { code: "BAD_USER_INPUT", field: "url" },
            }),
          ],
        },
      },
    ];
    renderWith(<WebhooksPage />, { mocks });
    await screen.findByText("No webhooks yet.");
    await userEvent.type(screen.getByLabelText("URL"), input.url);
    await userEvent.click(screen.getByRole("button", { name: "Create webhook" }));
    const messages = await screen.findAllByText(/private address/);
    expect(messages.length).toBeGreaterThan(0);
  });

  it("lists recent deliveries with status and response code, and redelivers", async () => {
    const mocks = [
      list([hook]),
      deliveries([delivery]),
      {
        request: { query: RedeliverWebhookDeliveryDocument, variables: { id: "11" } },
        result: { data: { redeliverWebhookDelivery: { ...delivery, status: "PENDING", attempts: 0 } } },
      },
    ];
    renderWith(<WebhooksPage />, { mocks });
    const row = (await screen.findByText("ticket.state_changed")).closest("tr") as HTMLElement;
    expect(within(row).getByText("Failed")).toBeTruthy();
    expect(within(row).getByText("500")).toBeTruthy();
    await userEvent.click(within(row).getByRole("button", { name: "Redeliver" }));
    expect(await within(row).findByText("Waiting")).toBeTruthy();
  });
});
