// Turns what went wrong (a GraphQL error with the contract's `extensions.code`, a failed
// fetch, a sign-in answer) into a sentence for the person at the keyboard.
import { ApolloError } from "@apollo/client";
import type { GraphQLFormattedError } from "graphql";
import { STATE_LABELS } from "./labels";
import type { TicketState } from "./generated/graphql";

/** The contract's error codes (spec/api.graphql). */
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "BAD_USER_INPUT"
  | "INVALID_TRANSITION"
  | "CONFLICT"
  | "RATE_LIMITED"
  | "QUERY_TOO_COMPLEX"
  | "UNAVAILABLE"
  | "INTERNAL";

/** What a form or page shows: the sentence, and the input field it is about, if any. */
export interface UserError {
  code: ErrorCode | "NETWORK" | "UNKNOWN";
  message: string;
  /** The input field the server named (`extensions.field`), for BAD_USER_INPUT. */
  field?: string;
}

/** How input fields are called on screen, by the schema's name for them. */
const FIELD_LABELS: Record<string, string> = {
  applicantNumber: "Applicant number",
  name: "Name",
  email: "Email",
  count: "Number of tickets",
  cycle: "Cycle",
  body: "Note",
  reason: "Reason",
  password: "Password",
  ownerId: "Faculty member",
  supervisorIds: "Other supervisors",
  roles: "Roles",
  search: "Search",
  date: "Day",
  label: "Label",
};

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function sentence(text: string): string {
  const trimmed = capitalise(text.trim());
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

function minutesOrSeconds(seconds: number): string {
  if (seconds >= 120) return `${Math.ceil(seconds / 60)} minutes`;
  return seconds === 1 ? "1 second" : `${seconds} seconds`;
}

/**
 * The server's explanation of a bad input in the words on screen: quoted values in
 * typographic quotes (no developer backticks), and a sentence that opens with the field's
 * schema name (`applicantNumber must not be empty`) opening with its label instead.
 */
function inputMessage(text: string, field: string | undefined, label: string | undefined): string {
  const quoted = text.replace(/`([^`]*)`/g, "“$1”").replace(/"([^"]*)"/g, "“$1”").trim();
  if (!label) return sentence(quoted);
  const names = [field, label].filter((n): n is string => !!n).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const opening = new RegExp(`^(?:the )?(?:${names.join("|")})\\s+`, "i");
  if (opening.test(quoted)) return sentence(`${label} ${quoted.replace(opening, "")}`);
  return `${label}: ${sentence(quoted)}`;
}

/** One GraphQL error, by its code. */
export function describeGraphQLError(error: GraphQLFormattedError): UserError {
  const ext = (error.extensions ?? {}) as Record<string, unknown>;
  const code = typeof ext.code === "string" ? ext.code : "UNKNOWN";
  switch (code) {
    case "UNAUTHENTICATED":
      return { code, message: "Your session has ended. Please sign in again." };
    case "FORBIDDEN":
      return { code, message: "You are not allowed to do that." };
    case "NOT_FOUND":
      return { code, message: "This item does not exist, or you do not have access to it." };
    case "BAD_USER_INPUT": {
      const field = typeof ext.field === "string" ? ext.field : undefined;
      const label = field ? FIELD_LABELS[field] : undefined;
      return { code, field, message: inputMessage(error.message || "the input is not valid", field, label) };
    }
    case "INVALID_TRANSITION": {
      const state = typeof ext.state === "string" ? STATE_LABELS[ext.state as TicketState] : undefined;
      return {
        code,
        message: state
          ? `This step is no longer possible: the ticket is now “${state}”. The page shows its current state.`
          : "This step is no longer possible for the ticket in its current state.",
      };
    }
    case "CONFLICT":
      return {
        code,
        message:
          "Someone else changed this ticket while you were looking at it. Check its current state and try again.",
      };
    case "RATE_LIMITED": {
      const wait = Number(ext.retryAfter);
      return {
        code,
        message:
          Number.isFinite(wait) && wait > 0
            ? `Too many requests. Please wait ${minutesOrSeconds(Math.ceil(wait))} and try again.`
            : "Too many requests. Please wait a moment and try again.",
      };
    }
    case "QUERY_TOO_COMPLEX":
      return { code, message: "That request asks for too much at once. Narrow the filter or show fewer rows." };
    case "UNAVAILABLE":
      return { code, message: "Tessera is temporarily unavailable. Please try again in a moment." };
    case "INTERNAL":
      return {
        code,
        message: "Something went wrong on our side. Please try again; if it keeps happening, tell the administrator.",
      };
    default:
      return { code: "UNKNOWN", message: "Something unexpected went wrong. Please try again." };
  }
}

function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError || (error instanceof Error && error.name === "NetworkError");
}

/** Any error a request can end with. */
export function describeError(error: unknown): UserError {
  if (error instanceof ApolloError) {
    if (error.graphQLErrors.length > 0) return describeGraphQLError(error.graphQLErrors[0]);
    const network = error.networkError as (Error & { result?: { errors?: GraphQLFormattedError[] }; statusCode?: number }) | null;
    const bodyErrors = network?.result?.errors;
    if (bodyErrors && bodyErrors.length > 0) return describeGraphQLError(bodyErrors[0]);
    if (network && typeof network.statusCode === "number") return describeStatus(network.statusCode);
    if (error.protocolErrors.length > 0) return describeGraphQLError(error.protocolErrors[0]);
    return { code: "NETWORK", message: "Cannot reach Tessera. Check your connection and try again." };
  }
  if (isNetworkError(error)) {
    return { code: "NETWORK", message: "Cannot reach Tessera. Check your connection and try again." };
  }
  return { code: "UNKNOWN", message: "Something unexpected went wrong. Please try again." };
}

/** An HTTP status without a GraphQL body. */
export function describeStatus(status: number, retryAfter?: number): UserError {
  if (status === 401) return describeGraphQLError({ message: "", extensions: { code: "UNAUTHENTICATED" } });
  if (status === 403) return describeGraphQLError({ message: "", extensions: { code: "FORBIDDEN" } });
  if (status === 404) return describeGraphQLError({ message: "", extensions: { code: "NOT_FOUND" } });
  if (status === 429) return describeGraphQLError({ message: "", extensions: { code: "RATE_LIMITED", retryAfter } });
  if (status === 502 || status === 503 || status === 504) {
    return describeGraphQLError({ message: "", extensions: { code: "UNAVAILABLE" } });
  }
  if (status >= 500) return describeGraphQLError({ message: "", extensions: { code: "INTERNAL" } });
  return { code: "UNKNOWN", message: "Something unexpected went wrong. Please try again." };
}

/** The answer of `POST /auth/login` when it is not 200. */
export function describeSignInFailure(status: number, retryAfter: number | undefined): UserError {
  if (status === 401) return { code: "UNAUTHENTICATED", message: "Wrong email or password." };
  if (status === 429) {
    const wait = retryAfter && retryAfter > 0 ? minutesOrSeconds(retryAfter) : "a while";
    return { code: "RATE_LIMITED", message: `Too many failed sign-ins. Please try again in ${wait}.` };
  }
  if (status === 400) return { code: "BAD_USER_INPUT", message: "Enter your email and password." };
  return describeStatus(status, retryAfter);
}

/** Whether any of an operation's errors says the session is over. */
export function isUnauthenticated(errors: readonly GraphQLFormattedError[] | undefined): boolean {
  return (errors ?? []).some((e) => (e.extensions as { code?: string } | undefined)?.code === "UNAUTHENTICATED");
}

/** What the sign-in page says when the identity provider sign-in came back with `oidc_error`. */
const OIDC_ERRORS: Record<string, string> = {
  cancelled: "Sign-in was cancelled. You can try again.",
  denied: "Your identity provider did not sign you in. Try again, or ask your IT help desk.",
  expired: "That sign-in took too long or was already used. Please start again.",
  invalid: "Your identity provider's answer could not be verified. Please try again; if it keeps happening, tell your administrator.",
  unverified: "Your identity provider did not confirm your email address, so Tessera cannot tell who you are.",
  no_user: "There is no Tessera account for your email address. Ask the graduate office to add you.",
  deactivated: "Your Tessera account is deactivated. Ask the graduate office if this is a mistake.",
  no_role: "None of your groups gives access to Tessera. Ask your administrator.",
  locked: "Too many failed sign-ins from your network. Please try again later.",
  unavailable: "Your identity provider cannot be reached right now. Please try again in a moment.",
  not_configured: "Sign-in with an identity provider is not set up here.",
};

/** The sentence for an `oidc_error` code; null without one. */
export function describeOidcError(code: string | null): UserError | null {
  if (!code) return null;
  const message = OIDC_ERRORS[code] ?? "Sign-in did not succeed. Please try again.";
  const kind: UserError["code"] =
    code === "unavailable" ? "UNAVAILABLE" : code === "locked" ? "RATE_LIMITED" : "UNAUTHENTICATED";
  return { code: kind, message };
}
