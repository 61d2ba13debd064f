import { ApolloError } from "@apollo/client";
import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { describeError, describeGraphQLError, describeSignInFailure, describeStatus, isUnauthenticated } from "./errors";

const gql = (code: string, extra: Record<string, unknown> = {}, message = "server text") =>
  ({ message, extensions: { code, ...extra } });

describe("describeGraphQLError", () => {
  it.each([
    ["UNAUTHENTICATED", "Your session has ended. Please sign in again."],
    ["FORBIDDEN", "You are not allowed to do that."],
    ["NOT_FOUND", "This item does not exist, or you do not have access to it."],
    ["CONFLICT", "Someone else changed this ticket while you were looking at it. Check its current state and try again."],
    ["QUERY_TOO_COMPLEX", "That request asks for too much at once. Narrow the filter or show fewer rows."],
    ["UNAVAILABLE", "Tessera is temporarily unavailable. Please try again in a moment."],
    ["INTERNAL", "Something went wrong on our side. Please try again; if it keeps happening, tell the administrator."],
  ])("%s has its own sentence, never the server's text", (code, message) => {
    const described = describeGraphQLError(gql(code));
    expect(described).toEqual({ code, message });
    expect(described.message).not.toContain("server text");
  });

  it("BAD_USER_INPUT names the field and keeps the server's explanation", () => {
    expect(describeGraphQLError(gql("BAD_USER_INPUT", { field: "cycle" }, 'cycle must be four digits such as "2027", not `27`'))).toEqual({
      code: "BAD_USER_INPUT",
      field: "cycle",
      message: "Cycle must be four digits such as “2027”, not “27”.",
    });
    // The field's schema name is never shown: its label is.
    expect(describeGraphQLError(gql("BAD_USER_INPUT", { field: "applicantNumber" }, "applicantNumber must not be empty")).message).toBe(
      "Applicant number must not be empty.",
    );
    expect(describeGraphQLError(gql("BAD_USER_INPUT", { field: "email" }, "`a@b` is not a valid email address")).message).toBe(
      "Email: “a@b” is not a valid email address.",
    );
    expect(describeGraphQLError(gql("BAD_USER_INPUT", { field: "password" }, "the password must have at least 12 characters")).message).toBe(
      "Password must have at least 12 characters.",
    );
    expect(describeGraphQLError(gql("BAD_USER_INPUT", {}, "applicant is already on another ticket")).message).toBe(
      "Applicant is already on another ticket.",
    );
  });

  it("INVALID_TRANSITION says which state the ticket is in now", () => {
    expect(describeGraphQLError(gql("INVALID_TRANSITION", { state: "OFFER_PENDING" })).message).toBe(
      "This step is no longer possible: the ticket is now “Offer pending”. The page shows its current state.",
    );
    expect(describeGraphQLError(gql("INVALID_TRANSITION")).message).toBe(
      "This step is no longer possible for the ticket in its current state.",
    );
  });

  it("RATE_LIMITED says how long to wait", () => {
    expect(describeGraphQLError(gql("RATE_LIMITED", { retryAfter: 3 })).message).toBe("Too many requests. Please wait 3 seconds and try again.");
    expect(describeGraphQLError(gql("RATE_LIMITED", { retryAfter: 900 })).message).toBe("Too many requests. Please wait 15 minutes and try again.");
    expect(describeGraphQLError(gql("RATE_LIMITED")).message).toBe("Too many requests. Please wait a moment and try again.");
  });

  it("an unknown code is a generic sentence", () => {
    expect(describeGraphQLError(gql("SOMETHING_NEW"))).toEqual({ code: "UNKNOWN", message: "Something unexpected went wrong. Please try again." });
    expect(describeGraphQLError({ message: "no extensions" }).code).toBe("UNKNOWN");
  });
});

describe("describeError", () => {
  it("reads the first GraphQL error of an ApolloError", () => {
    const error = new ApolloError({ graphQLErrors: [new GraphQLError("x", { extensions: { code: "FORBIDDEN" } })] });
    expect(describeError(error).code).toBe("FORBIDDEN");
  });

  it("reads errors from a failed HTTP response's body, then its status", () => {
    const withBody = Object.assign(new Error("Response not successful"), {
      statusCode: 429,
      result: { errors: [gql("RATE_LIMITED", { retryAfter: 2 })] },
    });
    expect(describeError(new ApolloError({ networkError: withBody })).message).toBe("Too many requests. Please wait 2 seconds and try again.");
    const bare = Object.assign(new Error("Response not successful"), { statusCode: 503 });
    expect(describeError(new ApolloError({ networkError: bare })).code).toBe("UNAVAILABLE");
  });

  it("a request that never reached the server is a network problem", () => {
    expect(describeError(new ApolloError({ networkError: new TypeError("Failed to fetch") })).message).toBe(
      "Cannot reach Tessera. Check your connection and try again.",
    );
    expect(describeError(new TypeError("Failed to fetch")).code).toBe("NETWORK");
    expect(describeError("weird").code).toBe("UNKNOWN");
  });
});

describe("describeStatus and describeSignInFailure", () => {
  it("maps statuses to the contract's meanings", () => {
    expect(describeStatus(401).code).toBe("UNAUTHENTICATED");
    expect(describeStatus(403).code).toBe("FORBIDDEN");
    expect(describeStatus(404).code).toBe("NOT_FOUND");
    expect(describeStatus(502).code).toBe("UNAVAILABLE");
    expect(describeStatus(500).code).toBe("INTERNAL");
    expect(describeStatus(418).code).toBe("UNKNOWN");
  });

  it("says what went wrong with a sign-in", () => {
    expect(describeSignInFailure(401, undefined).message).toBe("Wrong email or password.");
    expect(describeSignInFailure(429, 900).message).toBe("Too many failed sign-ins. Please try again in 15 minutes.");
    expect(describeSignInFailure(429, undefined).message).toBe("Too many failed sign-ins. Please try again in a while.");
    expect(describeSignInFailure(400, undefined).message).toBe("Enter your email and password.");
    expect(describeSignInFailure(503, undefined).code).toBe("UNAVAILABLE");
  });

  it("isUnauthenticated finds the code among several errors", () => {
    expect(isUnauthenticated([gql("FORBIDDEN"), gql("UNAUTHENTICATED")])).toBe(true);
    expect(isUnauthenticated([gql("FORBIDDEN")])).toBe(false);
    expect(isUnauthenticated(undefined)).toBe(false);
  });
});
