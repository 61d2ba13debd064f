// The start page: for each of the user's roles, what that person acts on first.
import { useState } from "react";
import type { Role } from "../generated/graphql";
import { ROLE_LABELS } from "../labels";
import { useMe, type Me } from "../session";
import { actsForOwner } from "../transitions";
import type { TicketRowFragment } from "../generated/graphql";
import { IssueTicketsForm } from "../components/IssueTicketsForm";
import { StatsPanel } from "../components/StatsPanel";
import { TicketBrowser } from "../components/TicketBrowser";
import { TicketQueue } from "../components/TicketQueue";
import { TicketActions } from "../components/TicketActions";
import { UserAdmin } from "../components/UserAdmin";
import { ClosedDays } from "../components/ClosedDays";

/** The order dashboards appear in for someone with several roles. */
export const DASHBOARD_ORDER: readonly Role[] = ["BUDGET_DIRECTOR", "ASSOCIATE_CHAIR", "GRAD_OFFICE", "FACULTY", "FSS", "ADMIN"];

/** The dashboards a user sees: one per role (faculty and their support staff share one). */
export function dashboardsFor(roles: readonly Role[]): Role[] {
  const shown = DASHBOARD_ORDER.filter((r) => roles.includes(r));
  return shown.includes("FACULTY") ? shown.filter((r) => r !== "FSS") : shown;
}

export function Dashboard() {
  const me = useMe();
  const dashboards = dashboardsFor(me.roles);
  return (
    <div className="dashboard">
      <h1>Welcome, {me.name}</h1>
      {dashboards.length === 0 && <p>Your account has no role yet. Ask an administrator to give you one.</p>}
      {dashboards.map((role) => (
        <section key={role} className="role" aria-label={`${ROLE_LABELS[role]} dashboard`} data-dashboard={role}>
          {dashboards.length > 1 && <h2 className="role-title">{ROLE_LABELS[role]}</h2>}
          <RoleDashboard role={role} me={me} />
        </section>
      ))}
    </div>
  );
}

/** Why a ticket someone else owns is in a faculty member's list: they co-supervise it. */
export function coSupervised(me: Me, ticket: Pick<TicketRowFragment, "owner">): boolean {
  return !actsForOwner(me, ticket.owner.id);
}

/** A week from when the page opened: "due this week" lists everything due before it. */
function useWeekAhead(): string {
  const [at] = useState(() => new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString());
  return at;
}

const BY_DUE_DATE = { field: "DUE_AT", direction: "ASC" } as const;

function RoleDashboard({ role, me }: { role: Role; me: Me }) {
  const weekAhead = useWeekAhead();
  switch (role) {
    case "BUDGET_DIRECTOR":
      return (
        <>
          <StatsPanel />
          <div className="two">
            <IssueTicketsForm />
            <TicketQueue title="Issued, waiting to be granted" filter={{ states: ["INITIAL"] }} empty="Every issued ticket is granted." />
          </div>
        </>
      );
    case "FACULTY":
    case "FSS":
      return (
        <>
          <TicketQueue
            title="Offers due this week"
            description="Offers out with applicants whose response date is within a week, or has passed."
            filter={{ dueBefore: weekAhead }}
            orderBy={BY_DUE_DATE}
            empty="No offer is due this week."
          />
          <TicketQueue
            title={role === "FSS" ? "Tickets of the faculty you support" : "My tickets"}
            description={
              role === "FSS" ? undefined : "Tickets issued to you, and tickets of colleagues that name you as a co-supervisor."
            }
            ownerNote={(t) =>
              role === "FACULTY" && coSupervised(me, t) ? <span className="badge role-note">You co-supervise</span> : null
            }
            filter={{}}
            orderBy={{ field: "NUMBER", direction: "ASC" }}
            empty="No tickets yet. The budget director issues them."
            first={100}
          />
        </>
      );
    case "ASSOCIATE_CHAIR":
      return <TicketQueue title="Offer requests to approve or decline" filter={{ states: ["OFFER_REQUESTED"] }} empty="No requests are waiting." />;
    case "GRAD_OFFICE":
      return (
        <>
          <TicketQueue
            title="Offers due this week"
            description="Response dates within a week, or passed: the applicants to chase."
            filter={{ states: ["OFFER_PENDING"], dueBefore: weekAhead }}
            orderBy={BY_DUE_DATE}
            empty="No offer is due this week."
          />
          <TicketQueue
            title="Offers waiting for the applicant's answer"
            filter={{ states: ["OFFER_PENDING"] }}
            orderBy={BY_DUE_DATE}
            empty="No offers are waiting for an answer."
          />
          <TicketBrowser title="All tickets" actions={(t) => <TicketActions ticket={t} />} />
        </>
      );
    case "ADMIN":
      return (
        <>
          <UserAdmin />
          <ClosedDays />
        </>
      );
  }
}
