// Export the list as it is filtered: start the job, follow its progress (the exportProgress
// subscription; polling exportJob if the live connection fails), then offer the download.
import { useMutation, useQuery, useSubscription } from "@apollo/client";
import { useState } from "react";
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

export function ExportPanel({ filter, orderBy }: { filter: TicketFilter; orderBy: TicketOrder }) {
  const [start, { loading }] = useMutation(ExportTicketsDocument);
  const [job, setJob] = useState<ExportFieldsFragment | null>(null);
  const [error, setError] = useState<UserError | null>(null);

  const begin = async () => {
    setError(null);
    setJob(null);
    try {
      const { data } = await start({ variables: { filter, orderBy } });
      if (data) setJob(data.exportTickets);
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <section className="export" aria-label="Export">
      <button type="button" onClick={begin} disabled={loading || (job !== null && !finished(job))}>
        {loading ? "Starting export…" : "Export these tickets (CSV)"}
      </button>
      {error && <ErrorNotice error={error} />}
      {job && <ExportProgress key={job.id} initial={job} />}
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

export function ExportProgress({ initial }: { initial: ExportFieldsFragment }) {
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
