/**
 * stacks/fast-synth.ts: what the shortcuts leave out must never matter. The output is
 * byte-identical to cdktf's own synth (here in one process, both ways; cli.test.ts checks the
 * app's switch, PVE_DUALNET_STOCK_SYNTH=1, end to end), and the shortcuts step aside where they
 * must.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Lazy, TerraformOutput, Testing, Tokenization } from "cdktf";
import type { ClusterPlan } from "../config/plan";
import { fastSynth, STOCK_SYNTH_ENV, useFastSynth } from "../stacks/fast-synth";
import { PveDualnetStack } from "../stacks/pve-dualnet-stack";
import { synthesize } from "../stacks/synthesize";
import { planWith, tree } from "./helpers";

/** Synthesizes a plan as the app does, the fast way or cdktf's own; returns every file written. */
function synthesized(plan: ClusterPlan, stock: boolean): Record<string, string> {
  useFastSynth(stock ? { [STOCK_SYNTH_ENV]: "1" } : {});
  try {
    const outdir = mkdtempSync(path.join(tmpdir(), "pvdn-fast-synth-"));
    synthesize(plan, outdir);
    return tree(outdir);
  } finally {
    useFastSynth({});
  }
}

/** The creation stack cdktf records for a new token. */
const creationStack = () => Tokenization.reverseString(Lazy.stringValue({ produce: () => "x" })).firstToken!.creationStack;

describe("the fast synth", () => {
  it("is what the tests synthesize with (as the app and the command do), and reaches cdktf: tokens carry no creation stack", () => {
    expect(fastSynth()).toBe(true);
    expect(creationStack()).toEqual([]);
    useFastSynth({ [STOCK_SYNTH_ENV]: "1" });
    try {
      expect(creationStack().length).toBeGreaterThan(0);
    } finally {
      useFastSynth({});
    }
  });

  it.each([
    ["the example", planWith()],
    [
      "a description that uses more of the constructs: cloud image, network data, Calico, Terraform Cloud",
      planWith((c) => {
        c.vmDefaults.source = { image: { url: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img", fileName: "noble.qcow2" } };
        c.vmDefaults.cloudInit.networkData = { enabled: true };
        c.kubernetes.cni = { plugin: "calico" };
        c.terraformCloud = { organization: "homelab" };
      }),
    ],
  ])("writes byte for byte what cdktf's own synth writes: %s", (_name, plan) => {
    const fast = synthesized(plan, false);
    expect(Object.keys(fast).sort()).toEqual(["manifest.json", "stacks/cni/cdk.tf.json", "stacks/host-network/cdk.tf.json", "stacks/vms/cdk.tf.json"]);
    expect(fast).toEqual(synthesized(plan, true));
  });

  it("still resolves a stack's own overrides, which no element resolution covers", () => {
    const app = Testing.app();
    const stack = new PveDualnetStack(app, "overridden", planWith().config);
    new TerraformOutput(stack, "answer", { value: Lazy.numberValue({ produce: () => 42 }) });
    stack.addOverride("locals.greeting", Lazy.stringValue({ produce: () => "hello" }));
    const json = JSON.parse(Testing.synth(stack));
    expect(json.locals).toEqual({ greeting: "hello" });
    expect(json.output.answer.value).toBe(42);
  });
});
