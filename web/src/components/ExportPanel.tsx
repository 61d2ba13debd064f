// Export the list as it is filtered: start the job, follow its progress (the exportProgress
// subscription; polling exportJob if the live connection fails), then offer the download.
import { useMutation, useQuery, useSubscription } from "@apollo/client";
import { useCallback, useEffect, useState } from "react";
import { describeError, type UserError } from "../errors";
import {
  ExportJobDocument,
  ExportProgressDocument,
  ExportTicketsDocument,
  type ExportFieldsFragment,
  type TicketFilter,
  type TicketOrder,
} from "../generated/graphql";
import { EXPORT_LABELS } from "../labels";
import { ErrorNotice } from "./common";

/** The export the panel started, and the list (filter and order) it is an export of. */
interface Started {
  list: string;
  job: ExportFieldsFragment;
}

/**
 * The button exports the list as it is now. A job being written is followed until DONE or
 * FAILED (the button waits for it); a finished one stays only while the list is the one it
 * was made of: a new filter or order means a new export.
 */
export function ExportPanel({ filter, orderBy }: { filter: TicketFilter; orderBy: TicketOrder }) {
  const list = JSON.stringify([filter, orderBy]);
  const [start, { loading }] = useMutation(ExportTicketsDocument);
  const [started, setStarted] = useState<Started | null>(null);
  const [error, setError] = useState<{ list: string; error: UserError } | null>(null);
  const running = started !== null && !finished(started.job);
  const shown = started !== null && (running || started.list === list) ? started : null;
  const update = useCallback(
    (job: ExportFieldsFragment) => setStarted((s) => (s !== null && s.job.id === job.id ? { ...s, job } : s)),
    [],
  );

  const begin = async () => {
    setError(null);
    setStarted(null);
    try {
      const { data } = await start({ variables: { filter, orderBy } });
      if (data) setStarted({ list, job: data.exportTickets });
    } catch (err) {
      setError({ list, error: describeError(err) });
    }
  };

  return (
    <section className="export" aria-label="Export">
      <button type="button" onClick={begin} disabled={loading || running}>
        {loading ? "Starting export…" : "Export these tickets (CSV)"}
      </button>
      {error && error.list === list && <ErrorNotice error={error.error} />}
      {shown && <ExportProgress key={shown.job.id} initial={shown.job} onChange={update} />}
    </section>
  );
}

function finished(job: ExportFieldsFragment): boolean {
  return job.status === "DONE" || job.status === "FAILED";
}

/** The percentage written, when the total is known. */
export function exportPercent(job: Pick<ExportFieldsFragment, "status" | "rowsWritten" | "totalRows">): number | null {
  if (job.status === "DONE") return 100;
  if (!job.totalRows) return null;
  return Math.min(100, Math.floor((job.rowsWritten / job.totalRows) * 100));
}

/** One job's progress; `onChange` hears each step (the panel waits for the end). */
export function ExportProgress({ initial, onChange }: { initial: ExportFieldsFragment; onChange?(job: ExportFieldsFragment): void }) {
  const live = useSubscription(ExportProgressDocument, { variables: { id: initial.id }, skip: finished(initial) });
  // Without a live connection (or if it drops), ask every second instead.
  const polling = live.error !== undefined;
  const polled = useQuery(ExportJobDocument, {
    variables: { id: initial.id },
    skip: !polling,
    pollInterval: 1000,
    fetchPolicy: "network-only",
  });
  const job = pick(initial, live.data?.exportProgress, polled.data?.exportJob);
  if (polling && finished(job)) polled.stopPolling();
  useEffect(() => {
    if (job.status !== initial.status || job.rowsWritten !== initial.rowsWritten) onChange?.(job);
  }, [job, initial, onChange]);
  const percent = exportPercent(job);

  return (
    <div className="export-progress" role="status" aria-live="polite">
      <span>
        Export {EXPORT_LABELS[job.status].toLowerCase()}: {job.rowsWritten}
        {job.totalRows !== null ? ` of ${job.totalRows}` : ""} rows
      </span>
      {job.status !== "FAILED" && (
        <progress max={100} value={percent ?? undefined} aria-label="Export progress">
          {percent ?? 0}%
        </progress>
      )}
      {job.status === "DONE" && job.downloadUrl && (
        <a className="button primary" href={job.downloadUrl} download>
          Download CSV
        </a>
      )}
      {job.status === "FAILED" && (
        <div className="error" role="alert">
          The export failed{job.error ? `: ${job.error}` : "."} Please try again.
        </div>
      )}
      {polled.error && <ErrorNotice error={polled.error} />}
    </div>
  );
}

/** The most advanced of the answers (a finished one wins; else the most rows). */
function pick(...jobs: (ExportFieldsFragment | null | undefined)[]): ExportFieldsFragment {
  const known = jobs.filter((j): j is ExportFieldsFragment => !!j);
  return known.reduce((best, j) => {
    if (finished(best)) return best;
    if (finished(j)) return j;
    return j.rowsWritten >= best.rowsWritten ? j : best;
  });
}
