#!/usr/bin/env node
// The hash of the sources web/dist is built from, so CI can tell a stale bundle.
//
//   node scripts/source-hash.mjs           prints the hash of the current sources
//   node scripts/source-hash.mjs --write   writes it to dist/.source-hash (npm run build does)
//   node scripts/source-hash.mjs --check   exits 1 when dist/.source-hash differs
//   node scripts/source-hash.mjs --list    prints the manifest the hash is taken over
//
// The sources: everything that reaches the bundle (package.json, package-lock.json, the
// build configuration, index.html, graphiql.html, src/ without tests, public/) and the schema the types are
// generated from (../schema.graphql, listed as `schema.graphql`). The manifest is one line
// per file, `sha256(content)  path`, sorted by path bytes; the hash is sha256 of the manifest.
// Line ends are read as LF so a checkout with CRLF gives the same hash.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const WEB = join(dirname(fileURLToPath(import.meta.url)), "..");
const HASH_FILE = join(WEB, "dist", ".source-hash");
const TOP_FILES = ["package.json", "package-lock.json", "index.html", "graphiql.html", "vite.config.ts", "tsconfig.json", "codegen.ts"];
const TREES = ["src", "public"];
/** Not part of the bundle: tests, test helpers, generated code (made from the listed sources). */
const SKIP = [/\.test\.tsx?$/, /^src\/test\//, /^src\/generated\//];

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    return entry.isFile() ? [path] : [];
  });
}

/** [name in the manifest, absolute path] of every source of the client in `web`. */
export function sources(web = WEB) {
  const files = TOP_FILES.map((f) => [f, join(web, f)]);
  for (const tree of TREES) {
    for (const path of walk(join(web, tree))) {
      const name = relative(web, path).split(sep).join("/");
      if (!SKIP.some((re) => re.test(name))) files.push([name, path]);
    }
  }
  files.push(["schema.graphql", join(web, "..", "schema.graphql")]);
  return files.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

export function manifest(web = WEB) {
  return sources(web)
    .map(([name, path]) => {
      const text = readFileSync(path).toString("latin1").replace(/\r\n/g, "\n");
      return `${createHash("sha256").update(Buffer.from(text, "latin1")).digest("hex")}  ${name}\n`;
    })
    .join("");
}

export function sourceHash(web = WEB) {
  return createHash("sha256").update(manifest(web)).digest("hex");
}

function main(arg) {
  const hash = sourceHash();
  switch (arg) {
    case undefined:
      console.log(hash);
      return 0;
    case "--list":
      process.stdout.write(manifest());
      return 0;
    case "--write":
      writeFileSync(HASH_FILE, `${hash}\n`);
      console.log(`dist/.source-hash: ${hash}`);
      return 0;
    case "--check": {
      const built = existsSync(HASH_FILE) ? readFileSync(HASH_FILE, "utf8").trim() : "(missing)";
      if (built === hash) {
        console.log(`web/dist is built from the current sources (${hash})`);
        return 0;
      }
      console.error(
        `web/dist is stale: it was built from sources hashing to ${built}, the sources now hash to ${hash}.\n` +
          "Rebuild and commit it: (cd web && npm ci && npm run build) && git add web/dist",
      );
      return 1;
    }
    default:
      console.error(`unknown argument ${arg}; see the comment at the top of this file`);
      return 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv[2]);
}
