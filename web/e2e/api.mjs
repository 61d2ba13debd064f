// The GraphQL API as a signed-in demo user sees it, over plain HTTP (no browser): for
// end-to-end tests that drive the platform the way an integration does.
import assert from "node:assert/strict";
import { PASSWORD } from "./browser.mjs";

/**
 * Signs `email` in with the demo password on the server at `url`; answers a function that
 * runs one GraphQL operation with that session and returns its `data`, failing the test on
 * any error (or, with `{ errors: true }`, returns the whole answer).
 */
export async function signInApi(url, email) {
  const login = await fetch(`${url}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(login.status, 200, `${email} could not sign in`);
  const cookie = login.headers.get("set-cookie").split(";")[0];
  return async (query, variables = {}, { errors = false } = {}) => {
    const answer = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify({ query, variables }),
    });
    const body = await answer.json();
    if (errors) return body;
    assert.equal(body.errors, undefined, `${email}: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
}
