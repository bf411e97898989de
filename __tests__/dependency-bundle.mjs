// The heaviest dependencies for the tests, as the app has them: bundled by esbuild (see
// bin/bundle.mjs). Jest loads a package's modules one by one, with its own resolver, for
// every test file again: cdktf (~380 modules) and zod cost a third of a second each per file that
// way, a tenth as one bundle. jest.config.js maps each name below onto the bundle, so every
// require of it, ours or a provider binding's, reaches the same module instance; cdktf's three deep
// modules are those patches/cdktf-fast-synth.ts patches. The bundle runs a package's code only when a
// test file first requires it. Rebuilt when package-lock.json or this file changes; it lives in
// node_modules/.cache, gone with `npm ci`.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const BUNDLE_DIR = path.join(root, "node_modules", ".cache", "pve-dualnet", "dependencies");

/** The module names jest maps onto the bundle (constructs stays apart: the unbundled provider bindings share it). */
export const BUNDLED_MODULES = ["cdktf", "cdktf/lib/_tokens", "cdktf/lib/tokens/private/stack-trace", "cdktf/lib/synthesize/synthesizer", "zod", "yaml"];

/** The file jest loads for a bundled module: a one-line shim into the bundle. */
export const shimFile = (name) => path.join(BUNDLE_DIR, `${name.replace(/[^a-z0-9]+/gi, "_")}.js`);

const stampOf = () =>
  createHash("sha256")
    .update(readFileSync(path.join(root, "package-lock.json")))
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .digest("hex");

export async function ensureDependencyBundle() {
  const stampFile = path.join(BUNDLE_DIR, "stamp");
  const stamp = stampOf();
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) return;
  const { build } = await import("esbuild");
  // Each module behind a getter: loading the bundle runs none of them.
  const entry = `module.exports = {${BUNDLED_MODULES.map((name) => `get ${JSON.stringify(name)}() { return require(${JSON.stringify(name)}); }`).join(", ")}};`;
  await build({
    absWorkingDir: root,
    stdin: { contents: entry, resolveDir: root, loader: "js" },
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: ["constructs"],
    // Every test file reads and compiles the bundle again (V8 keeps no compiled copy between them):
    // without whitespace, in one-byte (ASCII) text, that is 40 ms instead of 70. Names stay.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    charset: "ascii",
    outfile: path.join(BUNDLE_DIR, "bundle.js"),
    logLevel: "warning",
  });
  mkdirSync(BUNDLE_DIR, { recursive: true });
  for (const name of BUNDLED_MODULES) writeFileSync(shimFile(name), `module.exports = require("./bundle.js")[${JSON.stringify(name)}];\n`);
  writeFileSync(stampFile, stamp);
}
