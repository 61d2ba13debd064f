// Which buttons a ticket shows: one per state in `allowedTransitions` (the server's answer for
// this caller), named for the mutation that makes that move. The client never invents a move.
import type { TicketState } from "./generated/graphql";

/** A mutation that moves a ticket. */
export type ActionKind = "grant" | "cancel" | "requestOffer" | "withdraw" | "approve" | "decline" | "accept" | "refuse";

export interface TicketAction {
  kind: ActionKind;
  /** The state the ticket moves to. */
  to: TicketState;
  /** The button's words. */
  label: string;
  /** Whether the mutation takes a reason, and whether it must be given. */
  reason: "none" | "optional" | "required";
  /** Moves that undo work are drawn as such. */
  tone: "primary" | "danger" | "normal";
}

interface Viewer {
  id: string;
  supports: readonly { id: string }[];
}

/** Whether the viewer acts for the owner (is the owner, or supports them). */
export function actsForOwner(viewer: Viewer, ownerId: string): boolean {
  return viewer.id === ownerId || viewer.supports.some((u) => u.id === ownerId);
}

/**
 * The actions for a ticket in `state` that may move to `allowed`. OFFER_REQUESTED -> GRANTED
 * is a withdrawal for the owner's side and a decline for the associate chair.
 */
export function ticketActions(
  state: TicketState,
  allowed: readonly TicketState[],
  viewer: Viewer,
  ownerId: string,
): TicketAction[] {
  const actions: TicketAction[] = [];
  for (const to of allowed) {
    const action = actionFor(state, to, actsForOwner(viewer, ownerId));
    if (action) actions.push(action);
  }
  return actions;
}

function actionFor(from: TicketState, to: TicketState, ownerSide: boolean): TicketAction | undefined {
  switch (to) {
    case "GRANTED":
      if (from === "INITIAL") return { kind: "grant", to, label: "Grant", reason: "none", tone: "primary" };
      if (from === "OFFER_REQUESTED") {
        return ownerSide
          ? { kind: "withdraw", to, label: "Withdraw request", reason: "optional", tone: "normal" }
          : { kind: "decline", to, label: "Decline", reason: "required", tone: "danger" };
      }
      return undefined;
    case "CANCELLED":
      return { kind: "cancel", to, label: "Cancel ticket", reason: "required", tone: "danger" };
    case "OFFER_REQUESTED":
      return { kind: "requestOffer", to, label: "Request an offer", reason: "none", tone: "primary" };
    case "OFFER_PENDING":
      return { kind: "approve", to, label: "Approve", reason: "none", tone: "primary" };
    case "OFFER_ACCEPTED":
      return { kind: "accept", to, label: "Applicant accepted", reason: "none", tone: "primary" };
    case "OFFER_REFUSED":
      return { kind: "refuse", to, label: "Applicant refused", reason: "none", tone: "normal" };
    default:
      return undefined;
  }
}
