#!/usr/bin/env node
// pve-dualnet: check, synthesize and report cluster descriptions (the bundled cli.ts).
import { runBundle } from "./bundle.mjs";

const { runCli } = await runBundle("cli");
// An exit status, not process.exit(): what is still buffered for a pipe gets written first.
process.exitCode = await runCli(process.argv.slice(2));
