#!/usr/bin/env node
// Parses Mermaid files with the real mermaid parser (in a jsdom window, as mermaid expects a
// browser), all in one process: its start-up is most of the cost.
//
//   node scripts/check-mermaid.mjs FILE...
//
// One line per file, "FILE: valid <diagram type>" or "FILE: invalid: <the parser's message>";
// exit 0 when all are valid, 1 when any is not, 2 without files.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: check-mermaid.mjs FILE...");
  process.exit(2);
}
const { window } = new JSDOM("");
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import("mermaid");

let invalid = 0;
for (const file of files) {
  try {
    const { diagramType } = await mermaid.parse(readFileSync(file, "utf8"));
    console.log(`${file}: valid ${diagramType}`);
  } catch (err) {
    invalid++;
    console.log(`${file}: invalid: ${String(err.message ?? err).split("\n")[0]}`);
  }
}
process.exit(invalid ? 1 : 0);
