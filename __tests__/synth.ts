/**
 * Synthesis for tests, apart from helpers.ts: only the test files that synthesize load cdktf
 * (most of a test file's start-up when it does).
 */
import { Testing, type TerraformStack } from "cdktf";
import type { ClusterPlan } from "../config/plan";
import { buildStacks } from "../stacks";

/** Synthesizes every stack of a plan; returns the parsed Terraform JSON per stack. */
export function synthAll(plan: ClusterPlan): Record<string, any> {
  const app = Testing.app();
  const stacks = buildStacks(app, plan) as Record<string, TerraformStack>;
  return Object.fromEntries(Object.entries(stacks).map(([name, stack]) => [name, JSON.parse(Testing.synth(stack))]));
}
