/**
 * Synthesis for tests, apart from helpers.ts: only the test files that synthesize load cdktf
 * (most of a test file's start-up when it does).
 */
import { Testing } from "cdktf";
import type { ClusterPlan } from "../config/plan";
import { buildStacks } from "../stacks";

/**
 * Synthesizes every stack of a plan; returns the parsed Terraform JSON per stack: hostNetwork,
 * vms, cni, each VM shard by its stack id (vms-<node>), and vms_ha when there is one.
 */
export function synthAll(plan: ClusterPlan): Record<string, any> {
  const app = Testing.app();
  const { vmShards, haRules, ...stacks } = buildStacks(app, plan);
  const synth = (stack: Parameters<typeof Testing.synth>[0]) => JSON.parse(Testing.synth(stack));
  return {
    ...Object.fromEntries(Object.entries(stacks).map(([name, stack]) => [name, synth(stack)])),
    ...Object.fromEntries([...vmShards, ...(haRules ? [haRules] : [])].map((s) => [s.node.id, synth(s)])),
  };
}
