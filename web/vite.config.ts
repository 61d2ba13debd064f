// Vite builds the client into dist/, which the gateway embeds (api-gateway/src/web.rs); in
// development `npm run dev` proxies the API to a running `cargo run`.
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

const api = process.env.TESSERA_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Hashed names under assets/: the gateway caches them for a year.
    assetsDir: "assets",
    sourcemap: false,
    // Two pages: the app, and GraphiQL (served by the gateway at /graphiql, never from a CDN).
    rollupOptions: { input: { app: "index.html", graphiql: "graphiql.html" } },
    // GraphiQL (CodeMirror and all) is one chunk of about 700 kB, loaded only at /graphiql.
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: {
      "/graphql": { target: api, ws: true },
      "/auth": api,
      "/exports": api,
      "/graphiql": api,
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}", "scripts/**/*.test.ts"],
    setupFiles: ["src/test/setup.ts"],
    testTimeout: 20_000,
  },
});
