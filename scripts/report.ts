/**
 * npm run report -- [--format markdown|text] [--mermaid]
 *
 * Prints what a reviewer needs to see of the cluster description in use (the same file the
 * app would synthesize): host bridges, VMs and their NICs, the MTU chain, the CNI. --mermaid
 * prints the topology diagram instead.
 */
import { ConfigError } from "../config/errors";
import { loadClusterFile, resolveConfigFile } from "../config/load";
import { renderMermaid } from "../renderers/mermaid";
import { renderReport, type ReportFormat } from "../renderers/report";

const args = process.argv.slice(2);
const formatAt = args.indexOf("--format");
const format = (formatAt >= 0 ? args[formatAt + 1] : "markdown") as ReportFormat;
if (format !== "markdown" && format !== "text") {
  process.stderr.write(`--format must be markdown or text, not ${format}\n`);
  process.exit(2);
}
try {
  const plan = loadClusterFile(resolveConfigFile(process.env), process.env);
  process.stdout.write(args.includes("--mermaid") ? renderMermaid(plan) : renderReport(plan, format));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
