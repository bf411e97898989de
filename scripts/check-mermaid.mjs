#!/usr/bin/env node
// Parses Mermaid text from stdin with the real mermaid parser (in a jsdom window, as mermaid
// expects a browser). Exit 0 when valid, 1 with the parser's message when not.
import { JSDOM } from "jsdom";

const { window } = new JSDOM("");
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import("mermaid");

let text = "";
for await (const chunk of process.stdin) text += chunk;
try {
  const { diagramType } = await mermaid.parse(text);
  console.log(`valid ${diagramType}`);
} catch (err) {
  console.error(String(err.message ?? err));
  process.exit(1);
}
