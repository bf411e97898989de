#!/usr/bin/env -S npx tsx
// Run with tsx (npm run lint:workflows): the parser imports JSON without import attributes,
// which Node 20 refuses and esbuild's loader accepts.
// Validates every GitHub Actions workflow with GitHub's own workflow parser
// (@actions/workflow-parser, the one behind the Actions language service). Exit 1 on errors.
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

const dir = path.join(path.dirname(new URL(import.meta.url).pathname), "..", ".github", "workflows");
let failed = false;
for (const name of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
  const file = { name, content: readFileSync(path.join(dir, name), "utf8") };
  const parsed = parseWorkflow(file, new NoOperationTraceWriter());
  const errors = [...parsed.context.errors.getErrors()];
  if (parsed.value) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    errors.push(...(template.errors ?? []).map((e) => ({ message: e.Message ?? String(e) })));
  }
  const messages = [...new Set(errors.map((e) => e.message))];
  for (const message of messages) console.error(`${name}: ${message}`);
  if (errors.length) failed = true;
  else console.log(`${name}: valid`);
}
process.exit(failed ? 1 : 0);
