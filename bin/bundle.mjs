// The bundled entry points: the cdktf app (main.ts) and the pve-dualnet command (cli.ts), each
// one esbuild bundle, rebuilt only when an input changed. One bundle loads in a fraction of the
// time of hundreds of modules (or of ts-node type-checking); `npm run typecheck` keeps the types.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
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

/**
 * Writes `content` to `file` by renaming a complete copy over it: a process that loads the
 * bundle while another rebuilds it (two synths, a test run beside the lab) reads the old file or
 * the new one, never half of one. Its time is the build's start, so a source saved during the
 * build is newer than the bundle and the next start builds again.
 */
function replaceFile(file, content, startedMs) {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  utimesSync(temporary, startedMs / 1000, startedMs / 1000);
  renameSync(temporary, file);
}

/**
 * cdktf's private/fs.js loads the archiver package (and its streams, globbing and zip code) when
 * cdktf loads, only to zip a TerraformAsset directory, which pve-dualnet never makes: in the
 * bundle it is loaded at its first use instead, which is never. The text replaced is cdktf
 * 0.21.0's (pinned); the build fails if it is not there.
 */
const lazyArchiver = {
  name: "lazy-archiver",
  setup(build) {
    build.onLoad({ filter: /[\\/]cdktf[\\/]lib[\\/]private[\\/]fs\.js$/ }, async ({ path: file }) => {
      const { readFile } = await import("node:fs/promises");
      const source = await readFile(file, "utf8");
      const eager = 'const archiver = require("archiver");';
      if (!source.includes(eager)) throw new Error(`${file}: no \`${eager}\` to load lazily (a cdktf upgrade? see bin/bundle.mjs)`);
      const lazy = 'let archiverModule; const archiver = (...args) => (archiverModule ??= require("archiver"))(...args);';
      return { contents: source.replace(eager, lazy), loader: "js", resolveDir: path.dirname(file) };
    });
  },
};

export async function buildBundles() {
  const started = Date.now();
  // Loaded only when a rebuild is due: importing esbuild costs more than running a bundle.
  const { build } = await import("esbuild");
  const result = await build({
    write: false,
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
    plugins: [lazyArchiver],
  });
  mkdirSync(dist, { recursive: true });
  for (const output of result.outputFiles) replaceFile(output.path, output.contents, started);
  // A dependency changes with package-lock.json (npm ci, npm install): that one file stands for all of node_modules.
  const own = Object.keys(result.metafile.inputs).filter((input) => !input.split("/").includes("node_modules"));
  replaceFile(inputsFile, JSON.stringify([...own, "package-lock.json"]), started);
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
