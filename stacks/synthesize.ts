import { rmSync } from "node:fs";
import * as path from "node:path";
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

/** Removes an earlier synth's manifest, so nothing takes it for this one's; where there is none, nothing happens. */
export function removeStaleManifest(outdir: string): void {
  try {
    rmSync(path.join(outdir, "manifest.json"), { force: true });
  } catch {
    // The output path is not a directory: it holds no manifest.
  }
}
