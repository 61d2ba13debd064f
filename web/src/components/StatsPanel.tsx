// The budget director's totals as small charts: funding, state, faculty member.
import { useQuery } from "@apollo/client";
import { TicketStatsDocument, type TicketStatsQuery } from "../generated/graphql";
import { STATES, STATE_LABELS } from "../labels";
import { BarChart, type Bar } from "./BarChart";
import { ErrorNotice, Loading } from "./common";

type Stats = TicketStatsQuery["ticketStats"];

/** The charts' rows: states in workflow order (empty ones left out), faculty by total. */
export function statsBars(stats: Stats): { funding: Bar[]; states: Bar[]; faculty: Bar[] } {
  const counts = new Map(stats.byState.map((s) => [s.state, s.count]));
  return {
    funding: [
      { key: "DOMESTIC", label: "Domestic", value: stats.domestic },
      { key: "INTERNATIONAL", label: "International", value: stats.international },
    ],
    states: STATES.filter((s) => (counts.get(s) ?? 0) > 0).map((s) => ({ key: s, label: STATE_LABELS[s], value: counts.get(s) ?? 0 })),
    faculty: [...stats.byOwner]
      .sort((a, b) => b.total - a.total || a.owner.name.localeCompare(b.owner.name))
      .map((o) => ({ key: o.owner.id, label: o.owner.name, value: o.total })),
  };
}

export function StatsPanel() {
  const { data, loading, error, refetch } = useQuery(TicketStatsDocument);
  if (error) return <ErrorNotice error={error} onRetry={() => void refetch()} />;
  if (loading && !data) return <Loading label="Loading totals…" />;
  if (!data) return null;
  const bars = statsBars(data.ticketStats);
  return (
    <section className="stats" aria-label="Totals">
      <p className="total">
        <strong>{data.ticketStats.total}</strong> tickets in all
      </p>
      <div className="charts">
        <BarChart title="Domestic / international" bars={bars.funding} />
        <BarChart title="By state" bars={bars.states} />
        <BarChart title="By faculty member" bars={bars.faculty} />
      </div>
    </section>
  );
}
