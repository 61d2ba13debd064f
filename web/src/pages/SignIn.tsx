// The sign-in page; also where an expired session lands, with the reason, and where a
// sign-in at the identity provider comes back to when it did not succeed (`?oidc_error=`).
import { useEffect, useId, useState, type FormEvent } from "react";
import { ErrorNotice } from "../components/common";
import { describeOidcError, type UserError } from "../errors";
import { useSession } from "../session";

/** The ways in the gateway offers (`GET /auth/config`). */
export interface WaysIn {
  password: boolean;
  provider: { name: string; login: string } | null;
}

const PASSWORDS_ONLY: WaysIn = { password: true, provider: null };

async function loadWaysIn(): Promise<WaysIn> {
  try {
    const response = await fetch("/auth/config", { credentials: "same-origin" });
    if (!response.ok) return PASSWORDS_ONLY;
    const body = (await response.json()) as Partial<WaysIn>;
    return {
      password: body.password !== false,
      provider: body.provider && typeof body.provider.login === "string" ? body.provider : null,
    };
  } catch {
    return PASSWORDS_ONLY;
  }
}

/** The `oidc_error` the provider sign-in came back with, taken out of the address bar. */
function takeOidcError(): UserError | null {
  const params = new URLSearchParams(window.location.search);
  const failure = describeOidcError(params.get("oidc_error"));
  if (failure) {
    params.delete("oidc_error");
    const rest = params.toString();
    window.history.replaceState(null, "", `${window.location.pathname}${rest ? `?${rest}` : ""}`);
  }
  return failure;
}

export function SignIn() {
  const { signIn, message } = useSession();
  const id = useId();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UserError | null>(null);
  const [providerError] = useState(takeOidcError);
  const [ways, setWays] = useState<WaysIn | null>(null);

  useEffect(() => {
    let live = true;
    void loadWaysIn().then((loaded) => live && setWays(loaded));
    return () => {
      live = false;
    };
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const failure = await signIn(email.trim(), password);
    // On success this page unmounts: the app shows where the user was going.
    if (failure) {
      setError(failure);
      setBusy(false);
    }
  };

  const provider = ways?.provider;
  const back = `${window.location.pathname}${window.location.search}`;
  const form = (
    <>
      <div className="field">
        <label htmlFor={`${id}-email`}>Email</label>
        <input
          id={`${id}-email`}
          type="email"
          autoComplete="username"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          required
          autoFocus={!provider}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-password`}>Password</label>
        <input
          id={`${id}-password`}
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </div>
      {error && <ErrorNotice error={error} />}
      <button type="submit" className={provider ? undefined : "primary"} disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </>
  );

  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby={`${id}-title`} className="panel">
        <h1 id={`${id}-title`}>Sign in to Tessera</h1>
        {message && !error && !providerError && (
          <p className="info" role="status">
            {message}
          </p>
        )}
        {providerError && <ErrorNotice error={providerError} />}
        {provider && (
          <a className="button primary" href={`${provider.login}?redirect=${encodeURIComponent(back)}`}>
            Sign in with {provider.name}
          </a>
        )}
        {ways?.password === false ? (
          <details>
            <summary>Administrator sign-in with a password</summary>
            {form}
          </details>
        ) : (
          form
        )}
      </form>
    </main>
  );
}
