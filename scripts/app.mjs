#!/usr/bin/env node
// The cdktf app command: run the bundled app, rebuilding the bundle first when any of its
// inputs changed. One esbuild bundle loads in a fraction of the time of hundreds of modules
// (or of ts-node type-checking); `npm run typecheck` keeps the type safety.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bundle = path.join(root, "dist", "main.js");
const metafile = path.join(root, "dist", "meta.json");

function isStale() {
  if (!existsSync(bundle) || !existsSync(metafile)) return true;
  const built = statSync(bundle).mtimeMs;
  const inputs = Object.keys(JSON.parse(readFileSync(metafile, "utf8")).inputs);
  return inputs.some((input) => {
    const file = path.join(root, input);
    return !existsSync(file) || statSync(file).mtimeMs > built;
  });
}

export async function buildApp() {
  // Loaded only when a rebuild is due: importing esbuild costs more than running the bundle.
  const { build } = await import("esbuild");
  const result = await build({
    absWorkingDir: root,
    entryPoints: ["main.ts"],
    bundle: true,
    platform: "node",
    target: "node20",
    outfile: bundle,
    metafile: true,
    logLevel: "warning",
  });
  writeFileSync(metafile, JSON.stringify(result.metafile));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--build") || isStale()) await buildApp();
  if (!process.argv.includes("--build")) createRequire(import.meta.url)(bundle);
}
