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
import { CONFIG_CONTEXT, CONFIG_ENV, EXAMPLE_CONFIG, loadClusterFile } from "./config/load";
import type { ClusterPlan } from "./config/plan";
import { buildStacks } from "./stacks";

function configFile(): string {
  const context = JSON.parse(process.env.CDKTF_CONTEXT_JSON || "{}") as Record<string, unknown>;
  const fromContext = context[CONFIG_CONTEXT];
  return process.env[CONFIG_ENV] || (typeof fromContext === "string" && fromContext) || EXAMPLE_CONFIG;
}

function main(): void {
  let plan: ClusterPlan;
  try {
    plan = loadClusterFile(configFile());
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n\nNothing was synthesized.\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
  const app = new App();
  buildStacks(app, plan);
  app.synth();
}

main();
