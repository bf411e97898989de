/**
 * Synthesis for tests, apart from helpers.ts: only the test files that synthesize load cdktf
 * (most of a test file's start-up when it does).
 */
import { Testing, type TerraformStack } from "cdktf";
import type { ClusterPlan } from "../config/plan";
import { buildStacks } from "../stacks";
import { readSynthesized } from "../stacks/synthesize";

/**
 * Synthesizes every stack of a plan; returns the parsed Terraform JSON per stack: hostNetwork,
 * vms, cni, each VM shard by its stack id (vms-<node>), and vms_ha when there is one.
 *
 * The JSON is what `cdktf synth` writes (the app's own synth, held byte for byte to cdktf's by
 * fast-synth.test.ts), without cdktf's "//" metadata, as cdktf's Testing.synth returns it.
 * Testing.synth itself resolves each stack the slow way and copies every object once per key
 * (its removeMetadata spreads the copy so far at each key): a third of some test files' time.
 */
export function synthAll(plan: ClusterPlan): Record<string, any> {
  const app = Testing.app();
  const { vmShards, haRules, ...stacks } = buildStacks(app, plan);
  app.synth();
  const written = readSynthesized(app.outdir);
  const synth = (stack: TerraformStack) => withoutMetadata(written[stack.node.id]);
  return {
    ...Object.fromEntries(Object.entries(stacks).map(([name, stack]) => [name, synth(stack)])),
    ...Object.fromEntries([...vmShards, ...(haRules ? [haRules] : [])].map((s) => [s.node.id, synth(s)])),
  };
}

/** Parsed JSON without cdktf's "//" metadata keys, at any depth (as Testing.synth removes them). */
function withoutMetadata(value: unknown): any {
  if (Array.isArray(value)) return value.map(withoutMetadata);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (key !== "//") out[key] = withoutMetadata(item);
  return out;
}
