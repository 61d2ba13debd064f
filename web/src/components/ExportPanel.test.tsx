import { GraphQLError } from "graphql";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ExportJobDocument, ExportProgressDocument, ExportTicketsDocument } from "../generated/graphql";
import { renderWith } from "../test/render";
import { ExportPanel, ExportProgress, exportPercent } from "./ExportPanel";

const job = (status: string, rowsWritten: number, extra: Record<string, unknown> = {}) => ({
  __typename: "ExportJob",
  id: "8",
  status,
  rowsWritten,
  totalRows: 40,
  downloadUrl: null,
  error: null,
  ...extra,
});
const queued = job("QUEUED", 0) as Parameters<typeof ExportProgress>[0]["initial"];

describe("export", () => {
  it("percent written, when the total is known", () => {
    expect(exportPercent({ status: "RUNNING", rowsWritten: 10, totalRows: 40 })).toBe(25);
    expect(exportPercent({ status: "QUEUED", rowsWritten: 0, totalRows: null })).toBeNull();
    expect(exportPercent({ status: "DONE", rowsWritten: 0, totalRows: 0 })).toBe(100);
  });

  it("starts an export of the list's filter and follows it to the download link", async () => {
    const filter = { states: ["GRANTED" as const] };
    const orderBy = { field: "NUMBER" as const, direction: "ASC" as const };
    const mocks = [
      { request: { query: ExportTicketsDocument, variables: { filter, orderBy } }, result: { data: { exportTickets: job("QUEUED", 0) } } },
      {
        request: { query: ExportProgressDocument, variables: { id: "8" } },
        result: { data: { exportProgress: job("DONE", 40, { downloadUrl: "/exports/8.csv" }) } },
      },
    ];
    renderWith(<ExportPanel filter={filter} orderBy={orderBy} />, { mocks });
    await userEvent.click(screen.getByRole("button", { name: "Export these tickets (CSV)" }));
    const link = await screen.findByRole("link", { name: "Download CSV" });
    expect(link.getAttribute("href")).toBe("/exports/8.csv");
    expect(screen.getByText("Export ready: 40 of 40 rows")).toBeTruthy();
  });

  it("a new filter means a new export: the old download goes, the button works again", async () => {
    const orderBy = { field: "NUMBER" as const, direction: "ASC" as const };
    const all = {};
    const granted = { states: ["GRANTED" as const] };
    const mocks = [
      { request: { query: ExportTicketsDocument, variables: { filter: all, orderBy } }, result: { data: { exportTickets: job("QUEUED", 0) } } },
      {
        request: { query: ExportProgressDocument, variables: { id: "8" } },
        result: { data: { exportProgress: job("DONE", 40, { downloadUrl: "/exports/8.csv" }) } },
      },
      {
        request: { query: ExportTicketsDocument, variables: { filter: granted, orderBy } },
        result: { data: { exportTickets: job("QUEUED", 0, { id: "9", totalRows: 6 }) } },
      },
      {
        request: { query: ExportProgressDocument, variables: { id: "9" } },
        result: { data: { exportProgress: job("DONE", 6, { id: "9", totalRows: 6, downloadUrl: "/exports/9.csv" }) } },
      },
    ];
    const { rerender } = renderWith(<ExportPanel filter={all} orderBy={orderBy} />, { mocks });
    const button = screen.getByRole("button", { name: "Export these tickets (CSV)" });
    await userEvent.click(button);
    expect((await screen.findByRole("link", { name: "Download CSV" })).getAttribute("href")).toBe("/exports/8.csv");
    // Done: the same list can be exported again. The panel hears of the end from the progress's
    // effect, which may run after the link is drawn, so wait for it.
    await waitFor(() => expect(button).toHaveProperty("disabled", false));

    rerender(<ExportPanel filter={granted} orderBy={orderBy} />);
    expect(screen.queryByRole("link", { name: "Download CSV" })).toBeNull();
    expect(screen.queryByText(/40 rows/)).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Export these tickets (CSV)" }));
    expect((await screen.findByRole("link", { name: "Download CSV" })).getAttribute("href")).toBe("/exports/9.csv");
    expect(screen.getByText("Export ready: 6 of 6 rows")).toBeTruthy();
  });

  it("a failed export says why", async () => {
    const mocks = [
      {
        request: { query: ExportProgressDocument, variables: { id: "8" } },
        result: { data: { exportProgress: job("FAILED", 12, { error: "the disk is full" }) } },
      },
    ];
    renderWith(<ExportProgress initial={queued} />, { mocks });
    expect((await screen.findByRole("alert")).textContent).toBe("The export failed: the disk is full Please try again.");
    expect(screen.queryByRole("link")).toBeNull();
  });

  it("without a live connection, asks for the job until it is done", async () => {
    const mocks = [
      { request: { query: ExportProgressDocument, variables: { id: "8" } }, error: new Error("Socket closed with event 1006") },
      { request: { query: ExportJobDocument, variables: { id: "8" } }, result: { data: { exportJob: job("RUNNING", 20) } } },
      { request: { query: ExportJobDocument, variables: { id: "8" } }, result: { data: { exportJob: job("DONE", 40, { downloadUrl: "/exports/8.csv" }) } } },
    ];
    renderWith(<ExportProgress initial={queued} />, { mocks });
    expect(await screen.findByRole("link", { name: "Download CSV" }, { timeout: 4000 })).toBeTruthy();
  });

  it("a refused export is reported in words", async () => {
    const mocks = [
      {
        request: { query: ExportTicketsDocument, variables: { filter: {}, orderBy: { field: "NUMBER", direction: "ASC" } } },
        result: { errors: [new GraphQLError("no", { extensions: { code: "FORBIDDEN" } })] },
      },
    ];
    renderWith(<ExportPanel filter={{}} orderBy={{ field: "NUMBER", direction: "ASC" }} />, { mocks });
    await userEvent.click(screen.getByRole("button", { name: "Export these tickets (CSV)" }));
    expect((await screen.findByRole("alert")).textContent).toBe("You are not allowed to do that.");
  });
});
