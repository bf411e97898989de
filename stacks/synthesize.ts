import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
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

/**
 * The stacks of a synth output directory (what `cdktf synth` or `pve-dualnet synth` wrote): stack
 * name → its parsed cdk.tf.json, as manifest.json lists them. Throws with the file at fault.
 */
/** The stacks of a synth output directory, by name, in build order. */
export function readSynthesized(outdir: string): Record<string, unknown> {
  const manifestFile = path.join(outdir, "manifest.json");
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as { stacks?: Record<string, { synthesizedStackPath?: string; dependencies?: string[] }> };
  if (!manifest.stacks || typeof manifest.stacks !== "object") throw new Error(`${manifestFile}: no stacks`);
  return Object.fromEntries(
    buildOrder(manifest.stacks).map(([name, stack]) => {
      if (typeof stack?.synthesizedStackPath !== "string") throw new Error(`${manifestFile}: stack ${name} has no synthesizedStackPath`);
      return [name, JSON.parse(readFileSync(path.join(outdir, stack.synthesizedStackPath), "utf8"))];
    }),
  );
}

/**
 * The manifest's stacks in build order: each after the stacks it depends on (the manifest lists
 * them by name, in no particular order), ties by name.
 */
function buildOrder<T extends { dependencies?: string[] }>(stacks: Record<string, T>): [string, T][] {
  const ordered: [string, T][] = [];
  const placed = new Set<string>();
  const visit = (name: string, seen: Set<string>) => {
    if (placed.has(name) || seen.has(name) || !stacks[name]) return;
    seen.add(name);
    for (const dependency of [...(stacks[name]!.dependencies ?? [])].sort()) visit(dependency, seen);
    placed.add(name);
    ordered.push([name, stacks[name]!]);
  };
  for (const name of Object.keys(stacks).sort()) visit(name, new Set());
  return ordered;
}

/** Synthesizes every stack of a plan in a temporary directory; returns what readSynthesized reads there. */
export function synthesizeStacks(plan: ClusterPlan): Record<string, unknown> {
  const outdir = mkdtempSync(path.join(tmpdir(), "pve-dualnet-synth-"));
  try {
    synthesize(plan, outdir);
    return readSynthesized(outdir);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
