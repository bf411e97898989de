import { App } from "cdktf";
import type { ClusterPlan } from "../config/plan";
import { buildStacks } from "./index";

/**
 * Synthesizes every stack of a plan into `outdir`, as `cdktf synth` does: the same App, so the
 * same manifest.json and stacks/<name>/cdk.tf.json.
 */
export function synthesize(plan: ClusterPlan, outdir: string): void {
  const app = new App({ outdir });
  buildStacks(app, plan);
  app.synth();
}
