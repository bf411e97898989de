#!/usr/bin/env node
// The cdktf app command (cdktf.json "app"): runs the bundled main.ts. `--build` only builds.
import { buildBundles, runBundle } from "./bundle.mjs";

if (process.argv.includes("--build")) await buildBundles();
else await runBundle("app");
