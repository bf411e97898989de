/**
 * The cdktf app (cdktf.json "app"): what `cdktf synth`, `diff` and `deploy` run.
 *
 * The description comes from $PVE_DUALNET_CONFIG, the cdktf.json context key `config`, or the
 * built-in example. It is read before the cdktf App exists, because creating the App already
 * creates its output directory: a description with problems is reported in full, once, and
 * nothing is written. `node bin/pve-dualnet.mjs synth <file>` writes the same without the cdktf CLI.
 */
import { ConfigError } from "./config/errors";
import { EXAMPLE_WARNING, loadClusterFile, resolveConfigFile } from "./config/load";
import type { ClusterPlan } from "./config/plan";
import { useFastSynth } from "./patches/cdktf-fast-synth";
import { removeStaleManifest, synthesize } from "./stacks/synthesize";

/** Set by the cdktf CLI for the app it runs (synth, diff, deploy). */
const underCdktf = process.env.CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS === "true";
const outdir = process.env.CDKTF_OUTDIR ?? "cdktf.out";

function main(): void {
  useFastSynth(process.env);
  let plan: ClusterPlan;
  try {
    const source = resolveConfigFile(process.env);
    if (source.from === "example") (underCdktf ? process.stdout : process.stderr).write(`warning: ${EXAMPLE_WARNING}\n`);
    plan = loadClusterFile(source.file, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (!underCdktf) {
      process.stderr.write(`${err.message}\n\nNothing was synthesized.\n`);
      process.exitCode = 1;
      return;
    }
    // The cdktf CLI prints a failing app's output twice (as it comes, then again in its error
    // block). Printed on stdout by an app that ends normally, the problems appear once; the
    // CLI then fails on its own, because there is no manifest. A manifest left by an earlier
    // synth must not be taken for this one's.
    removeStaleManifest(outdir);
    process.stdout.write(`${err.message}\n\nNothing was synthesized: cdktf reports next that the app wrote no manifest.\n`);
    return;
  }
  // Under the cdktf CLI, stderr is shown as an error: warnings go to stdout there.
  for (const warning of plan.warnings) (underCdktf ? process.stdout : process.stderr).write(`warning: ${warning}\n`);
  synthesize(plan, outdir);
}

main();
