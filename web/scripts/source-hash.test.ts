// The bundle's source hash: what counts as a source, and that the hash depends on contents only.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { manifest, sourceHash, sources } from "./source-hash.mjs";

const roots: string[] = [];

/** A repository with web/ holding `files` (written in the given order); returns web/. */
function tree(files: Record<string, string>): string {
  const repo = mkdtempSync(join(tmpdir(), "tessera-hash-"));
  roots.push(repo);
  const web = join(repo, "web");
  for (const [name, text] of Object.entries(files)) {
    const path = name === "../schema.graphql" ? join(repo, "schema.graphql") : join(web, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text);
  }
  return web;
}

const BASE: Record<string, string> = {
  "package.json": "{}\n",
  "package-lock.json": "{}\n",
  "index.html": "<div id=root></div>\n",
  "graphiql.html": "<div id=graphiql></div>\n",
  "vite.config.ts": "export default {};\n",
  "tsconfig.json": "{}\n",
  "codegen.ts": "export default {};\n",
  "src/main.tsx": "main\n",
  "src/b/z.ts": "z\n",
  "src/a.graphql": "query A { me { id } }\n",
  "../schema.graphql": "type Query { me: ID }\n",
};

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe("source hash", () => {
  it("lists the sources sorted by path, with the schema and without tests or generated code", () => {
    const web = tree({
      ...BASE,
      "src/a.test.ts": "test\n",
      "src/test/setup.ts": "setup\n",
      "src/generated/graphql.ts": "generated\n",
      "dist/index.html": "built\n",
      "node_modules/x/index.js": "dep\n",
    });
    expect(sources(web).map(([name]) => name)).toEqual([
      "codegen.ts",
      "graphiql.html",
      "index.html",
      "package-lock.json",
      "package.json",
      "schema.graphql",
      "src/a.graphql",
      "src/b/z.ts",
      "src/main.tsx",
      "tsconfig.json",
      "vite.config.ts",
    ]);
    expect(manifest(web).split("\n")[0]).toMatch(/^[0-9a-f]{64} {2}codegen\.ts$/);
  });

  it("depends on contents, not on the order files were written or on CRLF line ends", () => {
    const forwards = tree(BASE);
    const backwards = tree(Object.fromEntries(Object.entries(BASE).reverse()));
    const crlf = tree(Object.fromEntries(Object.entries(BASE).map(([k, v]) => [k, v.replace(/\n/g, "\r\n")])));
    expect(sourceHash(backwards)).toBe(sourceHash(forwards));
    expect(sourceHash(crlf)).toBe(sourceHash(forwards));
  });

  it("changes when a source, the lock file or the schema changes, and not for a test", () => {
    const before = sourceHash(tree(BASE));
    expect(sourceHash(tree({ ...BASE, "src/b/z.ts": "z2\n" }))).not.toBe(before);
    expect(sourceHash(tree({ ...BASE, "package-lock.json": "{\"v\":2}\n" }))).not.toBe(before);
    expect(sourceHash(tree({ ...BASE, "../schema.graphql": "type Query { me: ID! }\n" }))).not.toBe(before);
    expect(sourceHash(tree({ ...BASE, "src/new.graphql": "query B { me { id } }\n" }))).not.toBe(before);
    expect(sourceHash(tree({ ...BASE, "src/b/z.test.ts": "more tests\n" }))).toBe(before);
  });

  it("fails loudly when a required file is missing", () => {
    const { "package-lock.json": _, ...without } = BASE;
    expect(() => sourceHash(tree(without))).toThrow(/package-lock\.json/);
  });
});
