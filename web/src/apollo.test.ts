import { afterEach, describe, expect, it, vi } from "vitest";
import { createApollo, websocketUrl } from "./apollo";
import { MeDocument, TicketEventsDocument } from "./generated/graphql";

afterEach(() => vi.unstubAllGlobals());

/** A WebSocket that accepts the graphql-transport-ws handshake, then closes with `code`. */
function closingSocket(code: number) {
  return class FakeSocket {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;
    readyState = 0;
    protocol = "graphql-transport-ws";
    onopen: (() => void) | null = null;
    onclose: ((e: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
    onmessage: ((e: { data: string }) => void) | null = null;
    onerror: ((e: unknown) => void) | null = null;
    constructor(
      public url: string,
      public protocols: string,
    ) {
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.();
      });
    }
    send(data: string) {
      const message = JSON.parse(data) as { type: string };
      if (message.type === "connection_init") {
        setTimeout(() => {
          this.onmessage?.({ data: JSON.stringify({ type: "connection_ack" }) });
          setTimeout(() => this.close(code, "closed by the test"));
        });
      }
    }
    close(closeCode = 1000, reason = "") {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.onclose?.({ code: closeCode, reason, wasClean: true });
    }
    addEventListener() {}
    removeEventListener() {}
  };
}

describe("createApollo", () => {
  it("an UNAUTHENTICATED answer ends the session", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () =>
        new Response(JSON.stringify({ data: null, errors: [{ message: "sign in", extensions: { code: "UNAUTHENTICATED" } }] }), {
          status: 200,
          headers: { "content-type": "application/json" },
        }),
      ),
    );
    const onUnauthenticated = vi.fn();
    const { client } = createApollo({ onUnauthenticated, onSocket: () => {} });
    await expect(client.query({ query: MeDocument })).rejects.toThrow();
    expect(onUnauthenticated).toHaveBeenCalledTimes(1);
  });

  it("other errors do not", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () =>
        new Response(JSON.stringify({ data: null, errors: [{ message: "no", extensions: { code: "FORBIDDEN" } }] }), {
          status: 200,
          headers: { "content-type": "application/json" },
        }),
      ),
    );
    const onUnauthenticated = vi.fn();
    const { client } = createApollo({ onUnauthenticated, onSocket: () => {} });
    await expect(client.query({ query: MeDocument })).rejects.toThrow();
    expect(onUnauthenticated).not.toHaveBeenCalled();
  });

  it.each([
    [4403, 1],
    [4008, 0],
  ])("the socket closing with %i ends the session %i time(s), and the subscription errors", async (code, times) => {
    const onUnauthenticated = vi.fn();
    const onSocket = vi.fn();
    const { client } = createApollo({ onUnauthenticated, onSocket }, closingSocket(code));
    const error = await new Promise((resolve) => {
      client.subscribe({ query: TicketEventsDocument, variables: { after: null } }).subscribe({ error: resolve });
    });
    expect(error).toBeTruthy();
    expect(onUnauthenticated).toHaveBeenCalledTimes(times);
    expect(onSocket).toHaveBeenCalledWith("connected");
    expect(onSocket).toHaveBeenCalledWith("closed", code);
  });

  it("talks websocket to the page's own host", () => {
    expect(websocketUrl({ protocol: "http:", host: "127.0.0.1:8080" })).toBe("ws://127.0.0.1:8080/graphql");
    expect(websocketUrl({ protocol: "https:", host: "tessera.example.edu" })).toBe("wss://tessera.example.edu/graphql");
  });
});
