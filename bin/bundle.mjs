// The bundled entry points: the cdktf app (main.ts) and the pve-dualnet command (cli.ts), each
// one esbuild bundle, rebuilt only when an input changed. One bundle loads in a fraction of the
// time of hundreds of modules (or of ts-node type-checking); `npm run typecheck` keeps the types.
// Each bundle (dist/<name>.bundle.js) is run by a loader beside it (dist/<name>.js) with V8's
// code cache of it (dist/v8-cache/): see LOADER.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
/** The bundles' inputs: the project's own files, and package-lock.json for every dependency. */
const inputsFile = path.join(dist, "inputs.json");
export const ENTRIES = { app: "main.ts", cli: "cli.ts" };

/** The loader of an entry point (what `node` runs), and its bundle. */
const loaderOf = (entry) => path.join(dist, ENTRIES[entry].replace(/\.ts$/, ".js"));
const bundleOf = (entry) => path.join(dist, ENTRIES[entry].replace(/\.ts$/, ".bundle.js"));

/**
 * dist/<name>.js: runs dist/<name>.bundle.js as Node would load it (CommonJS, in this module's
 * place), compiled with V8's code cache of it when there is one. Node 20 has no compile cache of
 * its own, and a cache made as a script is compiled holds only its top level; this one is made
 * when a run that had none ends, so it holds every function that run compiled (a start then
 * skips parsing the 4 MB bundle and compiling what it runs). The cache is named after the
 * bundle's content hash: V8 checks only the source's length (and its own version and flags)
 * before using a cache, so a rebuilt bundle of the same length would otherwise run the old
 * bundle's compiled code. V8 refuses a cache of another V8, and the next run's end writes a new
 * one; where none can be written, every start compiles, as without it.
 *
 * The bundle is read as Latin-1, not UTF-8: esbuild writes it in ASCII (every other character
 * escaped, `charset: "ascii"` below, checked after the build), where the two decode to the
 * same string, and Latin-1 is a plain copy (the 4 MB read: 48 ms as UTF-8, 29 ms as Latin-1, on
 * the benchmark's machine, 2026-12-04).
 */
const LOADER = (bundle, contentHash) => `// Written by bin/bundle.mjs: runs ${bundle} with V8's code cache of it (see LOADER there).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const Module = require("node:module");
const file = path.join(__dirname, ${JSON.stringify(bundle)});
const cacheFile = path.join(__dirname, "v8-cache", ${JSON.stringify(`${bundle}.${contentHash}.cache`)});
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  // No cache yet: this run makes one.
}
const script = new vm.Script(Module.wrap(fs.readFileSync(file, "latin1")), { filename: file, cachedData });
if (!cachedData || script.cachedDataRejected) {
  process.once("exit", () => {
    try {
      fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
      const temporary = \`\${cacheFile}.\${process.pid}.tmp\`;
      fs.writeFileSync(temporary, script.createCachedData());
      fs.renameSync(temporary, cacheFile);
    } catch {
      // Not writable here: the next start compiles again.
    }
  });
}
const bundled = new Module(file, module);
bundled.filename = file;
bundled.paths = Module._nodeModulePaths(__dirname);
script.runInThisContext()(bundled.exports, Module.createRequire(file), bundled, file, __dirname);
bundled.loaded = true;
module.exports = bundled.exports;
`;

// Checked at every start of the app and the command: a few dozen stats, not one per module.
function isStale() {
  const bundles = Object.keys(ENTRIES).flatMap((entry) => [loaderOf(entry), bundleOf(entry)]);
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
 * Packages that cdktf loads when it loads, for work pve-dualnet never asks of it, loaded at their
 * first use instead (which is never): the archiver package (and its streams, globbing and zip
 * code), which lib/private/fs.js loads only to zip a TerraformAsset directory; and Node's
 * child_process (with net and dgram under it, a few milliseconds of every start), which
 * lib/private/fs.js, lib/validations/validate-binary-version.js and lib/testing/matchers.js load
 * to run a command (copying an asset, a provider's version check, the test matchers' terraform),
 * each through a property of the module. The texts replaced are cdktf 0.21.0's (pinned); the
 * build fails if one is not there.
 */
const LAZY_ARCHIVER = ['const archiver = require("archiver");', 'let archiverModule; const archiver = (...args) => (archiverModule ??= require("archiver"))(...args);'];
const LAZY_CHILD_PROCESS = [
  'const child_process_1 = require("child_process");',
  'let childProcessModule; const child_process_1 = new Proxy({}, { get: (_target, key) => (childProcessModule ??= require("child_process"))[key] });',
];
const LAZY_REQUIRES = {
  "private/fs.js": [LAZY_ARCHIVER, LAZY_CHILD_PROCESS],
  "validations/validate-binary-version.js": [LAZY_CHILD_PROCESS],
  "testing/matchers.js": [LAZY_CHILD_PROCESS],
};
const lazyRequires = {
  name: "lazy-requires",
  setup(build) {
    build.onLoad({ filter: /[\\/]cdktf[\\/]lib[\\/](private[\\/]fs|validations[\\/]validate-binary-version|testing[\\/]matchers)\.js$/ }, async ({ path: file }) => {
      const { readFile } = await import("node:fs/promises");
      let source = await readFile(file, "utf8");
      const replacements = LAZY_REQUIRES[file.split(/[\\/]cdktf[\\/]lib[\\/]/).pop().replaceAll("\\", "/")];
      for (const [eager, lazy] of replacements) {
        if (!source.includes(eager)) throw new Error(`${file}: no \`${eager}\` to load lazily (a cdktf upgrade? see bin/bundle.mjs)`);
        source = source.replace(eager, lazy);
      }
      return { contents: source, loader: "js", resolveDir: path.dirname(file) };
    });
  },
};

/**
 * esbuild's __toESM, which gives a module of the project written as ESM its view of a CommonJS
 * package (cdktf, constructs, the bindings), makes a new view at every import: an object with a
 * getter for each of the package's exports, copied again for each of the twenty modules that
 * import cdktf (hundreds of exports). Here one view is made for each package and shared by its
 * importers; a view holds no state of its own (its getters read the package's exports). The
 * helper's text is esbuild 0.x's, minified; the build fails if it is not there.
 */
const TO_ESM = 'var __toESM=(mod,isNodeMode,target)=>(target=mod!=null?__create(__getProtoOf(mod)):{},__copyProps(isNodeMode||!mod||!mod.__esModule?__defProp(target,"default",{value:mod,enumerable:!0}):target,mod))';
const SHARED_TO_ESM =
  "var __esmViews=new WeakMap,__toESM=(mod,isNodeMode,target)=>{if(isNodeMode||mod==null||typeof mod!=\"object\"&&typeof mod!=\"function\")return __newESMView(mod,isNodeMode,target);let view=__esmViews.get(mod);return view||__esmViews.set(mod,view=__newESMView(mod,isNodeMode,target)),view}," +
  TO_ESM.slice("var ".length).replace("__toESM=", "__newESMView=");
function shareEsmViews(file, text) {
  if (!text.includes(TO_ESM)) throw new Error(`${file}: no esbuild __toESM helper to share (an esbuild upgrade? see bin/bundle.mjs)`);
  return text.replace(TO_ESM, SHARED_TO_ESM);
}

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
    entryNames: "[name].bundle",
    // Less to parse at every start (a tenth of a small synth); names stay as they are.
    minifyWhitespace: true,
    minifySyntax: true,
    // ASCII only, so the loader may read the bundle as Latin-1 (see LOADER).
    charset: "ascii",
    metafile: true,
    logLevel: "warning",
    plugins: [lazyRequires],
  });
  mkdirSync(dist, { recursive: true });
  const outputs = result.outputFiles.map((output) => ({ path: output.path, contents: output.path.endsWith(".js") ? shareEsmViews(output.path, output.text) : output.contents }));
  for (const output of outputs) {
    if (output.path.endsWith(".js") && /[^\x00-\x7f]/.test(output.contents)) throw new Error(`${output.path}: not ASCII, which its loader needs (see LOADER)`);
    replaceFile(output.path, output.contents, started);
  }
  const hashes = Object.fromEntries(outputs.map((output) => [output.path, createHash("sha256").update(output.contents).digest("hex").slice(0, 16)]));
  for (const entry of Object.keys(ENTRIES)) {
    const bundle = path.basename(bundleOf(entry));
    const hash = hashes[bundleOf(entry)];
    if (!hash) throw new Error(`esbuild wrote no ${bundle}`);
    replaceFile(loaderOf(entry), LOADER(bundle, hash), started);
    // Caches of earlier builds of this bundle are never read again.
    const caches = path.join(dist, "v8-cache");
    for (const name of existsSync(caches) ? readdirSync(caches) : []) {
      if (name.startsWith(`${bundle}.`) && !name.startsWith(`${bundle}.${hash}.`)) rmSync(path.join(caches, name), { force: true });
    }
  }
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
  return createRequire(import.meta.url)(loaderOf(entry));
}
