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
  /** Whoever makes this move cannot take it back: the UI asks first. */
  final: boolean;
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
      if (from === "INITIAL") return { kind: "grant", to, label: "Grant", reason: "none", tone: "primary", final: true };
      if (from === "OFFER_REQUESTED") {
        // A withdrawn request can be made again; a declined one only by the owner's side.
        return ownerSide
          ? { kind: "withdraw", to, label: "Withdraw request", reason: "optional", tone: "normal", final: false }
          : { kind: "decline", to, label: "Decline", reason: "required", tone: "danger", final: true };
      }
      return undefined;
    case "CANCELLED":
      return { kind: "cancel", to, label: "Cancel ticket", reason: "required", tone: "danger", final: true };
    case "OFFER_REQUESTED":
      return { kind: "requestOffer", to, label: "Request an offer", reason: "none", tone: "primary", final: false };
    case "OFFER_PENDING":
      return { kind: "approve", to, label: "Approve", reason: "none", tone: "primary", final: true };
    case "OFFER_ACCEPTED":
      return { kind: "accept", to, label: "Applicant accepted", reason: "none", tone: "primary", final: true };
    case "OFFER_REFUSED":
      return { kind: "refuse", to, label: "Applicant refused", reason: "none", tone: "normal", final: true };
    default:
      return undefined;
  }
}

/** What a move's question and report need of its ticket. */
export interface MovedTicket {
  number: number;
  owner: { name: string };
  applicant: { name: string } | null;
}

/** The question asked before a move that cannot be taken back. */
export function moveQuestion(action: TicketAction, t: MovedTicket): string {
  const applicant = t.applicant?.name ?? "the applicant";
  switch (action.kind) {
    case "grant":
      return `Grant ticket #${t.number} to ${t.owner.name}? A granted ticket cannot go back to issued.`;
    case "cancel":
      return `Cancel ticket #${t.number}? A cancelled ticket cannot be used again.`;
    case "decline":
      return `Decline the offer request for ${applicant} on ticket #${t.number}? ${t.owner.name} may then ask again.`;
    case "approve":
      return `Approve the offer to ${applicant} on ticket #${t.number}? This cannot be undone.`;
    case "accept":
      return `Record that ${applicant} accepted the offer on ticket #${t.number}? This cannot be undone.`;
    case "refuse":
      return `Record that ${applicant} refused the offer on ticket #${t.number}? This cannot be undone.`;
    case "withdraw":
      return `Withdraw the offer request for ${applicant} on ticket #${t.number}? You can request an offer again afterwards.`;
    case "requestOffer":
      return `Request an offer on ticket #${t.number}?`;
  }
}

/** What a move did, said once it is done (the row may leave the list at once). */
export function moveReport(action: TicketAction, t: MovedTicket): string {
  const applicant = t.applicant?.name ?? "the applicant";
  switch (action.kind) {
    case "grant":
      return `Ticket #${t.number} is granted: ${t.owner.name} can now request an offer with it.`;
    case "cancel":
      return `Ticket #${t.number} is cancelled.`;
    case "decline":
      return `You declined the offer request for ${applicant} on ticket #${t.number}. The ticket is back with ${t.owner.name}, who may ask again.`;
    case "approve":
      return `You approved the offer to ${applicant} on ticket #${t.number}. It now waits for the applicant's answer.`;
    case "accept":
      return `Recorded: ${applicant} accepted the offer on ticket #${t.number}.`;
    case "refuse":
      return `Recorded: ${applicant} refused the offer on ticket #${t.number}. ${t.owner.name} may request an offer for another applicant.`;
    case "withdraw":
      return `You withdrew the offer request on ticket #${t.number}. The ticket is granted again.`;
    case "requestOffer":
      return `Offer requested on ticket #${t.number}: it now waits for the associate chair.`;
  }
}
