// The full list: filters, search, sort and pages kept in the URL, and an export of exactly
// what the filter shows. `actions` adds per-row buttons (e.g. recording the applicant's answer).
import { useQuery } from "@apollo/client";
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { useSearchParams } from "react-router-dom";
import { TicketsDocument, type TicketOrderField, type TicketRowFragment, type TicketState } from "../generated/graphql";
import { RESIDENCY_LABELS, STATES, STATE_LABELS } from "../labels";
import { cycleProblem, filterOf, orderOf, pageOf, paramsFromView, viewFromParams, withChange, type ListView } from "../listParams";
import { ErrorNotice, Field, Loading } from "./common";
import { ExportPanel } from "./ExportPanel";
import { TicketTable } from "./TicketTable";

const SORT_LABELS: Record<TicketOrderField, string> = {
  NUMBER: "Ticket number",
  CREATED_AT: "Issued",
  UPDATED_AT: "Last change",
  STATE: "State",
  OWNER_NAME: "Faculty member",
  DUE_AT: "Response due",
};

/**
 * The list's view as kept in the URL, with a change shown at once. The router applies URL
 * changes in a transition, so without this a controlled checkbox or select would flick back
 * to its old value until that transition commits (long enough to see on a busy machine).
 */
function useUrlView(): [ListView, (next: ListView) => void] {
  const [params, setParams] = useSearchParams();
  const current = params.toString();
  const [pending, setPending] = useState<{ from: string; view: ListView } | null>(null);
  const view = pending !== null && pending.from === current ? pending.view : viewFromParams(params);
  const go = (next: ListView) => {
    setPending({ from: current, view: next });
    setParams(paramsFromView(next));
  };
  return [view, go];
}

export function TicketBrowser({ actions, title = "All tickets" }: { actions?: (t: TicketRowFragment) => ReactNode; title?: string }) {
  const id = useId();
  const [view, go] = useUrlView();
  const [search, setSearch] = useState(view.search);
  const [cycle, setCycle] = useState(view.cycle);
  // A cycle's problem shows once the person is done typing it, and goes as they edit it.
  const [cycleChecked, setCycleChecked] = useState(true);
  const cycleError = cycleChecked ? cycleProblem(cycle) : null;
  const applyCycle = () => {
    setCycleChecked(true);
    if (cycleProblem(cycle) === null && cycle.trim() !== view.cycle.trim()) go(withChange(view, { cycle }));
  };
  const { data, loading, error, refetch } = useQuery(TicketsDocument, {
    variables: { filter: filterOf(view), orderBy: orderOf(view), ...pageOf(view) },
  });
  const connection = data?.tickets;

  const submitSearch = (event: FormEvent) => {
    event.preventDefault();
    go(withChange(view, { search }));
  };
  const toggleState = (state: TicketState, on: boolean) =>
    go(withChange(view, { states: on ? [...view.states, state] : view.states.filter((s) => s !== state) }));

  return (
    <section className="browser" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      <form className="filters" onSubmit={submitSearch} role="search">
        <div className="field">
          <label htmlFor={`${id}-q`}>Search</label>
          <div className="inline">
            <input
              id={`${id}-q`}
              type="search"
              value={search}
              placeholder="Number, applicant or faculty member"
              onChange={(e) => setSearch(e.target.value)}
            />
            <button type="submit">Search</button>
          </div>
        </div>
        <div className="field">
          <label htmlFor={`${id}-residency`}>Funding</label>
          <select
            id={`${id}-residency`}
            value={view.residency ?? ""}
            onChange={(e) => go(withChange(view, { residency: (e.target.value || null) as ListView["residency"] }))}
          >
            <option value="">Any</option>
            {Object.entries(RESIDENCY_LABELS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <Field id={`${id}-cycle`} label="Cycle" error={cycleError ?? undefined}>
          <input
            id={`${id}-cycle`}
            name="cycle"
            inputMode="numeric"
            placeholder="e.g. 2027"
            value={cycle}
            aria-invalid={cycleError !== null}
            aria-describedby={cycleError ? `${id}-cycle-error` : undefined}
            onChange={(e) => {
              setCycle(e.target.value);
              setCycleChecked(false);
            }}
            onBlur={applyCycle}
            onKeyDown={(e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                applyCycle();
              }
            }}
          />
        </Field>
        <div className="field">
          <label htmlFor={`${id}-sort`}>Sort by</label>
          <div className="inline">
            <select
              id={`${id}-sort`}
              value={view.sort}
              onChange={(e) => go(withChange(view, { sort: e.target.value as TicketOrderField }))}
            >
              {Object.entries(SORT_LABELS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
            <select
              aria-label="Sort direction"
              value={view.direction}
              onChange={(e) => go(withChange(view, { direction: e.target.value as ListView["direction"] }))}
            >
              <option value="ASC">Ascending</option>
              <option value="DESC">Descending</option>
            </select>
          </div>
        </div>
        <fieldset className="checkboxes states">
          <legend>States</legend>
          {STATES.map((state) => (
            <label key={state}>
              <input type="checkbox" checked={view.states.includes(state)} onChange={(e) => toggleState(state, e.target.checked)} />
              {STATE_LABELS[state]}
            </label>
          ))}
        </fieldset>
      </form>
      <div className="list-bar">
        <span role="status" aria-live="polite">
          {connection ? `${connection.totalCount} ticket${connection.totalCount === 1 ? "" : "s"}` : ""}
        </span>
        <ExportPanel filter={filterOf(view)} orderBy={orderOf(view)} />
      </div>
      {error && <ErrorNotice error={error} onRetry={() => void refetch()} />}
      {loading && !data && <Loading label="Loading tickets…" />}
      {connection && (
        <>
          <TicketTable tickets={connection.nodes} caption={title} actions={actions} empty="No tickets match." />
          <nav className="pager" aria-label="Pages">
            <button
              type="button"
              disabled={!connection.pageInfo.hasPreviousPage || !connection.pageInfo.startCursor}
              onClick={() => go({ ...view, after: null, before: connection.pageInfo.startCursor })}
            >
              ← Previous
            </button>
            <button
              type="button"
              disabled={!connection.pageInfo.hasNextPage || !connection.pageInfo.endCursor}
              onClick={() => go({ ...view, before: null, after: connection.pageInfo.endCursor })}
            >
              Next →
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
