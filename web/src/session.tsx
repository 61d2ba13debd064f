// Who is signed in, and the ways in and out: `POST /auth/login`, `POST /auth/logout` (then the
// identity provider's logout, when the session began there), and the
// session ending under the user's feet (an UNAUTHENTICATED answer or a 4403 socket close),
// which sends them to the sign-in page with a message.
import { useApolloClient } from "@apollo/client";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { describeError, describeSignInFailure, type UserError } from "./errors";
import { MeDocument, type MeQuery } from "./generated/graphql";

export type Me = NonNullable<MeQuery["me"]>;

export const EXPIRED_MESSAGE = "Your session has expired. Please sign in again.";
export const SIGNED_OUT_MESSAGE = "You have signed out.";
/** Leaves the app for another page (the identity provider's logout); tests replace `to`. */
export const leave = { to: (url: string) => window.location.assign(url) };

/** The header of `/auth/logout`'s answer naming the identity provider's logout page. */
export const PROVIDER_LOGOUT = "tessera-provider-logout";

export interface SessionValue {
  /** The signed-in user; null when signed out. */
  me: Me | null;
  /** Why the user is on the sign-in page (expired session, signed out), if there is a reason. */
  message: string | null;
  signIn(email: string, password: string): Promise<UserError | null>;
  signOut(): Promise<void>;
  /** The server says the session is over. */
  expire(): void;
}

/** Exported for tests, which render pieces with a fixed session. */
export const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside <SessionProvider>");
  return value;
}

/** The signed-in user, for components that only render when someone is. */
export function useMe(): Me {
  const { me } = useSession();
  if (!me) throw new Error("useMe while signed out");
  return me;
}

interface Props {
  children: ReactNode;
  /** Lets the Apollo client's hooks (created before this provider) reach `expire`. */
  expireRef: { current: () => void };
  /** Shown while the first `me` is loading, and when it fails. */
  loading: ReactNode;
  failed(error: UserError, retry: () => void): ReactNode;
}

export function SessionProvider({ children, expireRef, loading, failed }: Props) {
  const client = useApolloClient();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [message, setMessage] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<UserError | null>(null);
  const meRef = useRef(me);
  meRef.current = me;

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const { data } = await client.query({ query: MeDocument, fetchPolicy: "network-only" });
      setMe(data.me ?? null);
    } catch (error) {
      setLoadError(describeError(error));
    }
  }, [client]);

  useEffect(() => {
    void load();
  }, [load]);

  const expire = useCallback(() => {
    if (!meRef.current) return;
    meRef.current = null;
    setMe(null);
    setMessage(EXPIRED_MESSAGE);
    void client.clearStore();
  }, [client]);
  expireRef.current = expire;

  const signIn = useCallback(
    async (email: string, password: string): Promise<UserError | null> => {
      let response: Response;
      try {
        response = await fetch("/auth/login", {
          method: "POST",
          credentials: "same-origin",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email, password }),
        });
      } catch (error) {
        return describeError(error);
      }
      if (!response.ok) {
        const retryAfter = Number(response.headers.get("retry-after") ?? "");
        return describeSignInFailure(response.status, Number.isFinite(retryAfter) ? retryAfter : undefined);
      }
      try {
        await client.clearStore();
        const { data } = await client.query({ query: MeDocument, fetchPolicy: "network-only" });
        if (!data.me) return describeSignInFailure(401, undefined);
        setMessage(null);
        setMe(data.me);
        return null;
      } catch (error) {
        return describeError(error);
      }
    },
    [client],
  );

  const signOut = useCallback(async () => {
    let provider: string | null = null;
    try {
      const response = await fetch("/auth/logout", { method: "POST", credentials: "same-origin" });
      provider = response.headers?.get(PROVIDER_LOGOUT) ?? null;
    } finally {
      // A session opened at the identity provider ends there too (RP-initiated logout); it
      // sends the browser back to Tessera's sign-in page.
      if (provider) leave.to(provider);
      meRef.current = null;
      setMe(null);
      setMessage(SIGNED_OUT_MESSAGE);
      await client.clearStore();
    }
  }, [client]);

  const value = useMemo<SessionValue>(
    () => ({ me: me ?? null, message, signIn, signOut, expire }),
    [me, message, signIn, signOut, expire],
  );

  if (me === undefined) return <>{loadError ? failed(loadError, () => void load()) : loading}</>;
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
