// What the end-to-end tests share: the demo people, Debian's Chromium (never a downloaded
// browser), signing in as a person would, screenshots into target/e2e/, and the quality
// checks every page passes: the gateway's Content-Security-Policy, no console message, and
// axe-core (from node_modules, injected into the page) finding nothing serious.
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { REPO } from "./server.mjs";

export const SHOTS = join(REPO, "target", "e2e");
export const PASSWORD = "tessera-demo";
export const TIMEOUT = 15_000;
export const PEOPLE = {
  budget: { email: "budget@example.edu", name: "Bianca Budget" },
  ada: { email: "ada@example.edu", name: "Ada Lovelace" },
  fiona: { email: "fiona@example.edu", name: "Fiona Support" },
  chair: { email: "chair@example.edu", name: "Chandra Chair" },
  grad: { email: "gradoffice@example.edu", name: "Gwen Graduate" },
  admin: { email: "admin@example.edu", name: "Avery Admin" },
};

/**
 * The policy the gateway is to send with every response (and sends with /graphiql): only
 * this origin's scripts, no inline script or eval, nothing from another host.
 */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Chromium with contexts on `server`; `close()` ends them all. */
export async function openBrowser(server) {
  mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" });
  const contexts = [];
  return {
    /** A fresh browser profile (no cookies) on the server, or on `baseURL`. */
    async context(options = {}) {
      const ctx = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 900 }, acceptDownloads: true, ...options });
      ctx.setDefaultTimeout(TIMEOUT);
      contexts.push(ctx);
      return ctx;
    },
    async close() {
      for (const ctx of contexts) await ctx.close().catch(() => {});
      await browser.close();
    },
  };
}

/** Signs in with the keyboard alone (the email field has focus), as someone would. */
export async function signIn(page, who, { path = "/" } = {}) {
  if (path !== null) await page.goto(path);
  await page.getByRole("heading", { name: "Sign in to Tessera" }).waitFor();
  await page.keyboard.type(who.email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

export async function shot(page, name, { fullPage = true } = {}) {
  // Let charts and lists settle (no spinner left) before the picture.
  await page.locator(".loading").first().waitFor({ state: "detached" }).catch(() => {});
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

/** The row of ticket `number` in the section headed `title`. */
export function row(page, title, number) {
  const section = page.locator("section.queue, section.browser", { has: page.getByRole("heading", { name: title }) });
  return section.locator(`tr[data-ticket="${number}"]`);
}

/**
 * Watches a context as the quality checks need: every console message and uncaught error is
 * kept, and any request to another host is refused and kept (the machine is offline).
 */
export async function watch(ctx, origin) {
  const seen = { console: [], outside: [] };
  await ctx.route(
    (url) => url.origin !== origin,
    (route) => {
      seen.outside.push(route.request().url());
      return route.abort();
    },
  );
  const follow = (page) => {
    page.on("console", (message) => seen.console.push(`${page.url()}: [${message.type()}] ${message.text()}`));
    page.on("pageerror", (error) => seen.console.push(`${page.url()}: [uncaught] ${error.message}`));
  };
  ctx.on("page", follow);
  for (const page of ctx.pages()) follow(page);
  return seen;
}

/** axe-core's serious and critical findings on the page as it is now, one line each. */
export async function accessibilityProblems(page) {
  // Through the DevTools protocol, which the page's CSP does not govern: the page itself
  // still runs none but its own scripts.
  await page.evaluate(`${AXE}\n;undefined`);
  return page.evaluate(async () => {
    const { violations } = await globalThis.axe.run(document, { resultTypes: ["violations"] });
    return violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => `${n.target.join(" ")} ${n.html.slice(0, 120)}`).slice(0, 3).join(", ")}`);
  });
}
