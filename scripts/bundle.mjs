// The bundled entry points: the cdktf app (main.ts) and the pve-dualnet command (cli.ts), each
// one esbuild bundle, rebuilt only when an input changed. One bundle loads in a fraction of the
// time of hundreds of modules (or of ts-node type-checking); `npm run typecheck` keeps the types.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const metafile = path.join(dist, "meta.json");
export const ENTRIES = { app: "main.ts", cli: "cli.ts" };

function isStale() {
  const bundles = Object.values(ENTRIES).map((e) => path.join(dist, e.replace(/\.ts$/, ".js")));
  if (!existsSync(metafile) || bundles.some((b) => !existsSync(b))) return true;
  const built = Math.min(...bundles.map((b) => statSync(b).mtimeMs));
  // This file holds the build options: a change to them is a change to every bundle.
  const inputs = [path.relative(root, fileURLToPath(import.meta.url)), ...Object.keys(JSON.parse(readFileSync(metafile, "utf8")).inputs)];
  return inputs.some((input) => {
    const file = path.join(root, input);
    return !existsSync(file) || statSync(file).mtimeMs > built;
  });
}

export async function buildBundles() {
  // Loaded only when a rebuild is due: importing esbuild costs more than running a bundle.
  const { build } = await import("esbuild");
  const result = await build({
    absWorkingDir: root,
    entryPoints: Object.values(ENTRIES),
    bundle: true,
    platform: "node",
    target: "node20",
    outdir: dist,
    // Less to parse at every start (a tenth of a small synth); names stay as they are.
    minifyWhitespace: true,
    minifySyntax: true,
    metafile: true,
    logLevel: "warning",
  });
  writeFileSync(metafile, JSON.stringify(result.metafile));
}

/** Builds the bundles if an input changed since they were built. */
export async function ensureBundles() {
  if (isStale()) await buildBundles();
}

/** Runs one entry point's bundle in this process, building the bundles first if they are stale. */
export async function runBundle(entry) {
  await ensureBundles();
  createRequire(import.meta.url)(path.join(dist, ENTRIES[entry].replace(/\.ts$/, ".js")));
}
