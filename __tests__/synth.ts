/**
 * Synthesis for tests, apart from helpers.ts: only the test files that synthesize load cdktf
 * (most of a test file's start-up when it does).
 */
import type { TerraformStack } from "cdktf";
import { Testing } from "cdktf";
import { invokeAspects } from "cdktf/lib/synthesize/synthesizer";
import type { ClusterPlan } from "../config/plan";
import { buildStacks } from "../stacks";

/** A value with every object's keys sorted and every "//" (cdktf's metadata) left out, as Testing.synth writes it. */
function sortedWithoutMetadata(item: unknown): unknown {
  if (Array.isArray(item)) return item.map(sortedWithoutMetadata);
  if (item === null || typeof item !== "object") return item;
  const object = item as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(object)
      .filter((key) => key !== "//")
      .sort()
      .map((key) => [key, sortedWithoutMetadata(object[key])]),
  );
}

/**
 * JSON.parse(Testing.synth(stack)), made the short way: the same steps (the aspects, the
 * stack's toTerraform(), the metadata left out, the keys sorted) without the text between.
 * cdktf's Testing.synth copies every object once per key ({...acc, [key]: value}) and writes
 * the text with json-stable-stringify, about half of its time; synth.test.ts holds this to
 * Testing.synth's parsed output, key order included.
 */
export function synthJson(stack: TerraformStack): any {
  invokeAspects(stack);
  return JSON.parse(JSON.stringify(sortedWithoutMetadata(stack.toTerraform())));
}

/**
 * Synthesizes every stack of a plan; returns the parsed Terraform JSON per stack: hostNetwork,
 * vms, cni, each VM shard by its stack id (vms-<node>), and vms_ha when there is one.
 */
export function synthAll(plan: ClusterPlan): Record<string, any> {
  const app = Testing.app();
  const { vmShards, haRules, ...stacks } = buildStacks(app, plan);
  return {
    ...Object.fromEntries(Object.entries(stacks).map(([name, stack]) => [name, synthJson(stack)])),
    ...Object.fromEntries([...vmShards, ...(haRules ? [haRules] : [])].map((s) => [s.node.id, synthJson(s)])),
  };
}
