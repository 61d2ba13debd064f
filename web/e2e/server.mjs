// Starts the all-in-one binary (`cargo run`'s `tessera`) for the end-to-end tests: a fresh
// SQLite database and DATA_DIR in a temporary folder, demo data seeded, port 0 (the address
// is read from what it prints), and waits for /healthz.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The binary: TESSERA_BIN, else `$CARGO_TARGET_DIR/debug/tessera`, else `target/debug/tessera`. */
export function binary() {
  if (process.env.TESSERA_BIN) return resolve(process.env.TESSERA_BIN);
  const target = process.env.CARGO_TARGET_DIR ? resolve(REPO, process.env.CARGO_TARGET_DIR) : join(REPO, "target");
  return join(target, "debug", "tessera");
}

export async function startServer({ env = {}, timeoutMs = 120_000 } = {}) {
  const bin = binary();
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: build it with \`cargo build\` (or set TESSERA_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), "tessera-e2e-"));
  const child = spawn(bin, [], {
    cwd: dir,
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${join(dir, "tessera.db")}?mode=rwc`,
      DATA_DIR: join(dir, "data"),
      TESSERA_DEMO: "true",
      TESSERA_ENV: "production",
      PORT: "0",
      BIND: "127.0.0.1",
      RUST_LOG: process.env.RUST_LOG ?? "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server printed no address in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const read = (chunk) => {
      output += chunk;
      const match = output.match(/Tessera is running at (http:\/\/[0-9.]+:\d+)\//);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout.setEncoding("utf8").on("data", read);
    child.stderr.setEncoding("utf8").on("data", (chunk) => {
      output += chunk;
      if (process.env.E2E_SERVER_LOG) process.stderr.write(chunk);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before it was ready:\n${output}`));
    });
  });
  for (let i = 0; ; i++) {
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 100) throw new Error(`${url}/healthz did not answer`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dataDir: join(dir, "data"),
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A TCP proxy in front of the server, to cut a browser's connections (the websocket too) as a
 * network drop would: `cut()` closes every open connection and refuses new ones until
 * `restore()`.
 */
export async function startProxy(target) {
  const { createServer, connect } = await import("node:net");
  const { hostname, port } = new URL(target);
  const open = new Set();
  let refusing = false;
  const proxy = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(port), hostname);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => {});
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise((resolveListen) => proxy.listen(0, "127.0.0.1", resolveListen));
  return {
    url: `http://127.0.0.1:${proxy.address().port}`,
    cut() {
      refusing = true;
      for (const socket of open) socket.destroy();
    },
    restore() {
      refusing = false;
    },
    /** Stops listening and ends every connection still open (else close waits for them). */
    close() {
      const closed = new Promise((r) => proxy.close(r));
      for (const socket of open) socket.destroy();
      return closed;
    },
  };
}

/**
 * An HTTP proxy in front of the server that adds `headers` to every response that lacks them
 * (as a layer of the gateway would), websockets passed through as they are. It stands in for
 * the global Content-Security-Policy layer until the gateway sends one on every response; a
 * browser's own request interception would not do, as Chromium then takes the page for a
 * public one and refuses its websocket to a loopback address.
 */
export async function startHeaderProxy(target, headers) {
  const { createServer, request } = await import("node:http");
  const { connect } = await import("node:net");
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  const proxy = createServer((incoming, outgoing) => {
    const upstream = request({ host: hostname, port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
      const merged = { ...answer.headers };
      for (const [name, value] of Object.entries(headers)) if (!(name in merged)) merged[name] = value;
      outgoing.writeHead(answer.statusCode ?? 502, merged);
      answer.pipe(outgoing);
    });
    upstream.on("error", () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  proxy.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  proxy.on("upgrade", (incoming, client, head) => {
    const upstream = connect(Number(port), hostname, () => {
      const lines = [`${incoming.method} ${incoming.url} HTTP/1.1`];
      for (let i = 0; i < incoming.rawHeaders.length; i += 2) lines.push(`${incoming.rawHeaders[i]}: ${incoming.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise((resolveListen) => proxy.listen(0, "127.0.0.1", resolveListen));
  return {
    url: `http://127.0.0.1:${proxy.address().port}`,
    close() {
      const closed = new Promise((r) => proxy.close(r));
      for (const socket of sockets) socket.destroy();
      return closed;
    },
  };
}
