/**
 * pve-dualnet: one cluster description in, one Terraform stack per step of the build out.
 *
 * The description comes from $PVE_DUALNET_CONFIG, the cdktf context key `config`
 * (`cdktf synth --context config=...` or cdktf.json), or the built-in example. A description
 * with problems is reported in full and nothing is written: the description is read before
 * the cdktf App exists, because creating the App already creates its output directory.
 */
import { App } from "cdktf";
import { ConfigError } from "./config/errors";
import { loadClusterFile, resolveConfigFile } from "./config/load";
import type { ClusterPlan } from "./config/plan";
import { buildStacks } from "./stacks";
import { skipCreationStacks } from "./stacks/creation-stacks";

function main(): void {
  skipCreationStacks(process.env);
  let plan: ClusterPlan;
  try {
    plan = loadClusterFile(resolveConfigFile(process.env), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n\nNothing was synthesized.\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
  for (const warning of plan.warnings) process.stderr.write(`warning: ${warning}\n`);
  const app = new App();
  buildStacks(app, plan);
  app.synth();
}

main();
