#!/usr/bin/env node
// pve-dualnet: check, synthesize and report cluster descriptions (the bundled cli.ts).
import { runBundle } from "../scripts/bundle.mjs";

await runBundle("cli");
