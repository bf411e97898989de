/**
 * marked as the judge of the Markdown the report and the plan impact write: the HTML GitHub-
 * flavoured Markdown makes of it (marked is an ES module: run by node, not jest). Judged: its
 * answer depends on the text, the script, marked (package-lock.json) and Node.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { judgedSync } from "../lab/judged";

export function toHtml(markdown: string): string {
  const script = `import { marked } from "marked"; process.stdout.write(marked.parse(process.argv[1], { async: false, gfm: true }));`;
  const run = judgedSync({ judge: "node --input-type=module -e SCRIPT -- MARKDOWN", texts: { script, markdown } }, () =>
    spawnSync(process.execPath, ["--input-type=module", "-e", script, "--", markdown], { encoding: "utf8", cwd: path.join(__dirname, "..", "..") }),
  );
  if (run.status !== 0) throw new Error(`marked failed: ${run.stderr}`);
  return run.stdout;
}
