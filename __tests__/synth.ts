/**
 * Synthesis for tests, apart from helpers.ts: only the test files that synthesize load cdktf
 * (most of a test file's start-up when it does).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { App, Testing, type TerraformStack } from "cdktf";
import type { ClusterPlan } from "../config/plan";
import { buildStacks } from "../stacks";
import { readSynthesized } from "../stacks/synthesize";

/**
 * What the app's synth wrote for each plan this test file synthesized, by the plan's JSON: a
 * synth is a function of the plan alone, and a test file synthesizes the same plan many times
 * (the example above all). Each caller gets its own copy.
 */
const written = new Map<string, { stacks: [name: string, id: string][]; documents: Record<string, unknown> }>();

/** A plan as text, whole (its sets too): what a synth of it depends on, for a key. */
export const planText = (plan: ClusterPlan) => JSON.stringify(plan, (_key, value: unknown) => (value instanceof Set ? { set: [...value] } : value));

/** A plan synthesized in cdktf's testing app (as Testing.synth's callers do) or as the app does (`new App`). */
function synthesizedOnce(plan: ClusterPlan, fresh: boolean, kind: "testing" | "app") {
  const key = `${kind} ${planText(plan)}`;
  const known = fresh ? undefined : written.get(key);
  if (known) return known;
  const app = kind === "testing" ? Testing.app() : new App({ outdir: mkdtempSync(path.join(tmpdir(), "pve-dualnet-synth-")) });
  const { vmShards, haRules, ...stacks } = buildStacks(app, plan);
  app.synth();
  const ids = (named: [string, TerraformStack][]) => named.map(([name, stack]): [string, string] => [name, stack.node.id]);
  const result = {
    stacks: [...ids(Object.entries(stacks)), ...ids([...vmShards, ...(haRules ? [haRules] : [])].map((s) => [s.node.id, s]))],
    documents: readSynthesized(app.outdir),
  };
  rmSync(app.outdir, { recursive: true, force: true });
  written.set(key, result);
  return result;
}

/**
 * Synthesizes every stack of a plan; returns the parsed Terraform JSON per stack: hostNetwork,
 * vms, cni, each VM shard by its stack id (vms-<node>), and vms_ha when there is one.
 *
 * The JSON is what `cdktf synth` writes (the app's own synth, held byte for byte to cdktf's by
 * fast-synth.test.ts), without cdktf's "//" metadata, as cdktf's Testing.synth returns it.
 * Testing.synth itself resolves each stack the slow way and copies every object once per key
 * (its removeMetadata spreads the copy so far at each key): a third of some test files' time.
 * `fresh` synthesizes again even where this file synthesized the plan before.
 */
export function synthAll(plan: ClusterPlan, { fresh = false } = {}): Record<string, any> {
  const { stacks, documents } = synthesizedOnce(plan, fresh, "testing");
  return Object.fromEntries(stacks.map(([name, id]) => [name, withoutMetadata(documents[id])]));
}

/** Every stack's Terraform JSON as the app's synth writes it ("//" metadata and all), by stack id, in build order (stacks/synthesize.ts's synthesizeStacks, once per plan). */
export function synthesizedStacks(plan: ClusterPlan): Record<string, unknown> {
  return structuredClone(synthesizedOnce(plan, false, "app").documents);
}

/** Parsed JSON without cdktf's "//" metadata keys, at any depth (as Testing.synth removes them). */
function withoutMetadata(value: unknown): any {
  if (Array.isArray(value)) return value.map(withoutMetadata);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (key !== "//") out[key] = withoutMetadata(item);
  return out;
}
