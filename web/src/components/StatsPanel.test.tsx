import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { BarChart } from "./BarChart";
import { statsBars } from "./StatsPanel";

describe("dashboard charts", () => {
  it("turns the totals into bars: funding, states in workflow order, faculty by total", () => {
    const bars = statsBars({
      cycle: null,
      total: 9,
      domestic: 6,
      international: 3,
      byState: [
        { state: "OFFER_PENDING", count: 2 },
        { state: "INITIAL", count: 7 },
        { state: "CANCELLED", count: 0 },
      ],
      byOwner: [
        { total: 2, owner: { id: "2", name: "Grace Hopper" } },
        { total: 5, owner: { id: "1", name: "Ada Lovelace" } },
        { total: 2, owner: { id: "3", name: "Alan Turing" } },
      ],
    });
    expect(bars.funding.map((b) => [b.label, b.value])).toEqual([["Domestic", 6], ["International", 3]]);
    expect(bars.states.map((b) => [b.label, b.value])).toEqual([["Issued", 7], ["Offer pending", 2]]);
    expect(bars.faculty.map((b) => b.label)).toEqual(["Ada Lovelace", "Alan Turing", "Grace Hopper"]);
  });

  it("draws each bar in proportion to the largest, with the number beside it", () => {
    render(<BarChart title="By state" bars={[{ key: "a", label: "Granted", value: 8 }, { key: "b", label: "Issued", value: 2 }]} />);
    const chart = screen.getByRole("figure", { name: "By state" });
    const rows = within(chart).getAllByRole("listitem");
    expect(rows.map((r) => r.textContent)).toEqual(["Granted8", "Issued2"]);
    const widths = rows.map((r) => (r.querySelector(".bar") as HTMLElement).style.width);
    expect(widths).toEqual(["100%", "25%"]);
  });

  it("says so when there is nothing to draw", () => {
    render(<BarChart title="By faculty member" bars={[]} />);
    expect(screen.getByText("Nothing yet.")).toBeTruthy();
  });
});
