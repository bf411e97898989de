// The bundled entry points: the cdktf app (main.ts) and the pve-dualnet command (cli.ts), each
// one esbuild bundle, rebuilt only when an input changed. One bundle loads in a fraction of the
// time of hundreds of modules (or of ts-node type-checking); `npm run typecheck` keeps the types.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
/** The bundles' inputs: the project's own files, and package-lock.json for every dependency. */
const inputsFile = path.join(dist, "inputs.json");
export const ENTRIES = { app: "main.ts", cli: "cli.ts" };

// Checked at every start of the app and the command: a few dozen stats, not one per module.
function isStale() {
  const bundles = Object.values(ENTRIES).map((e) => path.join(dist, e.replace(/\.ts$/, ".js")));
  if (!existsSync(inputsFile) || bundles.some((b) => !existsSync(b))) return true;
  const built = Math.min(...bundles.map((b) => statSync(b).mtimeMs));
  // This file holds the build options: a change to them is a change to every bundle.
  const inputs = [path.relative(root, fileURLToPath(import.meta.url)), ...JSON.parse(readFileSync(inputsFile, "utf8"))];
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
  // A dependency changes with package-lock.json (npm ci, npm install): that one file stands for all of node_modules.
  const own = Object.keys(result.metafile.inputs).filter((input) => !input.split("/").includes("node_modules"));
  writeFileSync(inputsFile, JSON.stringify([...own, "package-lock.json"]));
}

/** Builds the bundles if an input changed since they were built. */
export async function ensureBundles() {
  if (isStale()) await buildBundles();
}

/**
 * Loads one entry point's bundle in this process (the app runs as it loads; the command's
 * module exports runCli), building the bundles first if they are stale. Returns its exports.
 */
export async function runBundle(entry) {
  await ensureBundles();
  const require = createRequire(import.meta.url);
  // V8's compiled code for the bundle, kept beside it (Node 20 has no compile cache of its own):
  // a start skips most of compiling 3 MB. V8 drops the cache when the bundle changes.
  process.env.V8_COMPILE_CACHE_CACHE_DIR ??= path.join(dist, "v8-cache");
  require("v8-compile-cache");
  return require(path.join(dist, ENTRIES[entry].replace(/\.ts$/, ".js")));
}
