/**
 * patches/cdktf-fast-synth.ts: what the shortcuts leave out must never matter. The output is
 * byte-identical to cdktf's own synth (here in one process, both ways; cli.test.ts checks the
 * app's switch, PVE_DUALNET_STOCK_SYNTH=1, end to end), and the shortcuts step aside where they
 * must.
 */
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Lazy, TerraformOutput, TerraformStack, Testing, Tokenization } from "cdktf";
import type { ClusterPlan } from "../config/plan";
import { fastSynth, stableJson, STOCK_SYNTH_ENV, useFastSynth } from "../patches/cdktf-fast-synth";
import { PveDualnetStack } from "../stacks/pve-dualnet-stack";
import { synthesize } from "../stacks/synthesize";
import { planWith, shardByNode, tree } from "./helpers";

/** The example with `workers` more worker VMs (addresses .50 up of both /24s). */
const withWorkers = (workers: number) => (c: any) => {
  for (let i = 0; i < workers; i++) c.vms.push({ name: `worker-${i + 1}`, id: 200 + i, role: "worker", ip: { external: `192.168.0.${50 + i}`, internal: `10.0.0.${50 + i}` } });
};

/** cdktf's own writer of a stack's JSON (json-stable-stringify, as cdktf requires it). */
const stockStringify = createRequire(path.join(__dirname, "..", "node_modules", "cdktf", "package.json"))("json-stable-stringify") as (value: unknown, options: { space: number }) => string;

/** A stack as V8 formats it without a prepareStackTrace hook. */
const v8Format = (error: Error, frames: NodeJS.CallSite[]) => [`${error}`, ...frames.map((frame) => `    at ${frame}`)].join("\n");

/**
 * Synthesizes a plan as the app does, the fast way or cdktf's own; returns every file written.
 * cdktf's own way records a creation stack for every token; jest formats a stack through the
 * source maps of every frame (source-map-support), which the app does not load: half of this
 * file's time went there. The stock synth formats its stacks as the app's would, in V8's own
 * format (each call site as it prints itself); no stack reaches the files compared.
 */
function synthesized(plan: ClusterPlan, stock: boolean): Record<string, string> {
  useFastSynth(stock ? { [STOCK_SYNTH_ENV]: "1" } : {});
  const prepare = Error.prepareStackTrace;
  if (stock) Error.prepareStackTrace = v8Format;
  try {
    const outdir = mkdtempSync(path.join(tmpdir(), "pvdn-fast-synth-"));
    synthesize(plan, outdir);
    return tree(outdir);
  } finally {
    Error.prepareStackTrace = prepare;
    useFastSynth({});
  }
}

/** The creation stack cdktf records for a new token. */
const creationStack = () => Tokenization.reverseString(Lazy.stringValue({ produce: () => "x" })).firstToken!.creationStack;

describe("the fast synth", () => {
  it("is what the tests synthesize with (as the app and the command do), and reaches cdktf: tokens carry no creation stack", () => {
    expect(fastSynth()).toBe(true);
    expect(creationStack()).toEqual([]);
    // The synthesizer fast-synth.ts patches is the one cdktf's stacks write with.
    const { StackSynthesizer } = require("cdktf/lib/synthesize/synthesizer");
    expect(new TerraformStack(Testing.app(), "any").synthesizer).toBeInstanceOf(StackSynthesizer);
    expect(StackSynthesizer.prototype.synthesize.name).toBe("fastSynthesize");
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
    ["the example with 150 more workers", planWith(withWorkers(150))],
  ])("writes byte for byte what cdktf's own synth writes: %s", (_name, plan) => {
    const fast = synthesized(plan, false);
    expect(Object.keys(fast).sort()).toEqual(["manifest.json", "stacks/cni/cdk.tf.json", "stacks/host-network/cdk.tf.json", "stacks/vms/cdk.tf.json"]);
    expect(fast).toEqual(synthesized(plan, true));
  });

  it("writes byte for byte what cdktf's own synth writes: 60 more workers, sharded by Proxmox node", () => {
    const plan = planWith((c) => {
      withWorkers(60)(c);
      shardByNode(c);
    });
    const fast = synthesized(plan, false);
    expect(Object.keys(fast)).toContain("stacks/vms-pve2/cdk.tf.json");
    expect(fast).toEqual(synthesized(plan, true));
  });

  it("writes a stack's JSON as json-stable-stringify does, whatever the data", () => {
    const tricky = {
      "//": { metadata: { path: "a/b" } },
      z: 1,
      a: [[], {}, [[]], [{}], [undefined, null, () => 1], { x: undefined }],
      resource: {
        type: {
          id: {
            empty: [],
            nothing: {},
            nested: { deeper: { list: [], map: {}, still: [{ a: [] }] } },
            dropped: undefined,
            fn: () => 1,
            when: new Date(0),
            strings: ['quote " and backslash \\', "line\nbreak\ttab", "ünïcödé ✓", "lone \ud800 surrogate", "${var.x} %{if}", "pve-dualnet-empty-x-["],
            numbers: [0, -0, 1.5, 1e21, 2 ** 53, Number.NaN, Infinity],
            "needs \"escape\"": true,
            "10": "index", "9": "index", "-1": "not an index", "01": "not an index",
          },
          indexed: { "2": "a", "10": "b", "b": "c" },
          withEmpty: { a: {}, b: [] },
        },
      },
      output: { o: { value: { "0": [], a: {} } } },
      ["~"]: "last", [""]: "first",
    };
    expect(stableJson(tricky)).toBe(stockStringify(tricky, { space: 2 }));
    const plain = { resource: { t: { n: { a: [1, { b: [] }], c: {} } } } };
    expect(stableJson(plain)).toBe(stockStringify(plain, { space: 2 }));
    const cyclic: Record<string, unknown> = { a: { b: {} } };
    ((cyclic.a as Record<string, unknown>).b as Record<string, unknown>).c = cyclic.a;
    expect(() => stableJson({ x: { y: { z: cyclic } } })).toThrow(/circular/);
    expect(() => stockStringify({ x: { y: { z: cyclic } } }, { space: 2 })).toThrow(/circular/);
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
