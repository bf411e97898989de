/**
 * patches/cdktf-fast-synth.ts: what the shortcuts leave out must never matter. The output is
 * byte-identical to cdktf's own synth (here in one process, both ways; cli.test.ts checks the
 * app's switch, PVE_DUALNET_STOCK_SYNTH=1, end to end), and the shortcuts step aside where they
 * must. cdktf's own synth of a description is a judge like Terraform: a warm run replays its
 * answer while the description and the sources are what they were.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Annotations, App, Aspects, type IAspect, Lazy, Token, TerraformElement, TerraformIterator, TerraformOutput, TerraformStack, Testing, Tokenization } from "cdktf";
import { DISABLE_STACK_TRACE_IN_METADATA } from "cdktf/lib/annotations";
import { addCustomSynthesis } from "cdktf/lib/synthesize/synthesizer";
import { Construct } from "constructs";
import type { ClusterPlan } from "../config/plan";
import { fastSynth, holdsNumberToken, logicalId, ORDERED_BLOCK, stableJson, STOCK_SYNTH_ENV, useFastSynth } from "../patches/cdktf-fast-synth";
import { PveDualnetStack } from "../stacks/pve-dualnet-stack";
import { synthesize } from "../stacks/synthesize";
import { dualBridgeNode, planFrom, planWith, shardByNode, tree } from "./helpers";
import { digestOf, judgedSync } from "./lab/judged";
import { planText } from "./synth";

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

/**
 * Every file cdktf's own synth of a plan reads or runs: the project's modules, the generated
 * bindings, the host programs and playbooks it embeds, and this file and helpers.ts (which make
 * the plans and read the files back). cdktf itself is in the judges' machine identity.
 */
const SYNTH_SOURCES = ["config", "constructs", "stacks", "renderers", "patches", ".gen", "host", "ansible", "__tests__/fast-synth.test.ts", "__tests__/helpers.ts"].map((p) => path.join(__dirname, "..", p));
let sourcesDigest: string | undefined;

/**
 * cdktf's own synth of a plan, the judge the fast synth is held to: deterministic in the plan and
 * the sources above, so the judges' cache replays it while neither changed (CI always runs it).
 */
function stockSynthesized(plan: ClusterPlan): Record<string, string> {
  sourcesDigest ??= digestOf(SYNTH_SOURCES);
  const answer = judgedSync({ judge: "cdktf stock synth (fast-synth.test.ts)", texts: { plan: planText(plan), sources: sourcesDigest } }, () => ({
    status: 0,
    stdout: JSON.stringify(synthesized(plan, true)),
    stderr: "",
  }));
  return JSON.parse(answer.stdout);
}

/** Synthesizes an app `build` makes, the fast way or cdktf's own; returns every file written. */
function synthesizedApp(build: (app: App) => void, stock: boolean): Record<string, string> {
  useFastSynth(stock ? { [STOCK_SYNTH_ENV]: "1" } : {});
  try {
    const outdir = mkdtempSync(path.join(tmpdir(), "pvdn-fast-synth-"));
    const app = new App({ outdir });
    build(app);
    app.synth();
    return tree(outdir);
  } finally {
    useFastSynth({});
  }
}

/** An element whose JSON is given as it is (tokens and all): to make what no construct of pve-dualnet makes. */
class RawElement extends TerraformElement {
  constructor(scope: Construct, id: string, private readonly json: () => Record<string, unknown>) {
    super(scope, id);
  }
  public override toTerraform(): Record<string, unknown> {
    return this.json();
  }
}

/** cdktf's own NUMBER_TOKEN_REGEX, read from its source (lib/tokens/private/encoding.js), without its g flag. */
function cdktfNumberTokenRegex(): RegExp {
  const source = readFileSync(require.resolve("cdktf/lib/tokens/private/encoding.js"), "utf8");
  const literal = /const NUMBER_TOKEN_REGEX = new RegExp\(("(?:[^"\\]|\\.)*"), "g"\);/.exec(source);
  if (!literal) throw new Error("cdktf's NUMBER_TOKEN_REGEX not found");
  return new RegExp(JSON.parse(literal[1]!) as string);
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
    [
      // The helm provider's nested `kubernetes` object, helm_release's values (one string), a depends_on on it.
      "Cilium as a Helm release, kube-vip-cloud-provider after it",
      planWith((c) => {
        c.kubernetes.cni = { plugin: "cilium", cilium: { kubeProxyReplacement: true, hubble: true } };
        c.kubernetes.loadBalancer = { addresses: ["192.168.0.200"] };
        c.kubernetes.kubeconfig = { context: "admin@lab" };
      }),
    ],
    ["the example with 150 more workers", planWith(withWorkers(150))],
  ])("writes byte for byte what cdktf's own synth writes: %s", (_name, plan) => {
    const fast = synthesized(plan, false);
    expect(Object.keys(fast).sort()).toEqual(["manifest.json", "stacks/cni/cdk.tf.json", "stacks/host-network/cdk.tf.json", "stacks/vms/cdk.tf.json"]);
    expect(fast).toEqual(stockSynthesized(plan));
  });

  it("writes byte for byte what cdktf's own synth writes: 60 more workers, sharded by Proxmox node", () => {
    const plan = planWith((c) => {
      withWorkers(60)(c);
      shardByNode(c);
    });
    const fast = synthesized(plan, false);
    expect(Object.keys(fast)).toContain("stacks/vms-pve2/cdk.tf.json");
    expect(fast).toEqual(stockSynthesized(plan));
  });

  /** Proxmox HA (VE 9 rules, VE 8 groups) over three Proxmox nodes: per-VM HA resources that depend on the VMs' plain resources. */
  const withHa = (version: 8 | 9) => (c: any) => {
    c.proxmox.nodes.push(dualBridgeNode("pve2", "192.168.0.3", "10.0.0.3"), dualBridgeNode("pve3", "192.168.0.4", "10.0.0.4"));
    c.proxmox.ha = { enabled: true };
    c.proxmox.version = version;
  };

  it.each([
    ["the dual-stack example", planFrom("examples/dual-stack.yaml")],
    ["Cilium", planWith((c) => (c.kubernetes.cni = { plugin: "cilium" }))],
    ["Proxmox HA with rules (VE 9)", planWith(withHa(9))],
    ["Proxmox HA with groups (VE 8), 30 more workers", planWith((c) => (withWorkers(30)(c), withHa(8)(c)))],
    [
      "SSH keys, a search domain, Terraform template syntax in descriptions, SATA and virtio disks, per-VM tags, no firewall",
      planWith((c) => {
        withWorkers(2)(c);
        c.vmDefaults.cloudInit.sshKeys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZhc3Qtc3ludGgtdGVzdC1rZXktMDAwMDAwMDAwMDA ops@example"];
        c.networks.external.searchDomain = "lab.example";
        c.vms[0].description = "literal ${var.x} and %{ if } stay text";
        c.vms[1].disk = { interface: "sata0", iothread: false };
        c.vms[2].disk = { interface: "virtio1", ssd: false, discard: false };
        c.vms[3].tags = ["gpu", "edge"];
        c.firewall = { enabled: false };
      }),
    ],
  ])("writes byte for byte what cdktf's own synth writes: %s", (_name, plan) => {
    expect(synthesized(plan, false)).toEqual(stockSynthesized(plan));
  });

  it("writes byte for byte what cdktf's own synth writes: sharded by Proxmox node with HA rules, cloud images and network data", () => {
    const plan = planWith((c) => {
      withWorkers(12)(c);
      shardByNode(c);
      c.proxmox.ha = { enabled: true };
      c.proxmox.version = 9;
      c.vms.forEach((vm: any, i: number) => (vm.node = ["pve", "pve2", "pve3"][i % 3]));
      c.vmDefaults.source = { image: { url: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img", fileName: "noble.qcow2" } };
      c.vmDefaults.cloudInit.networkData = { enabled: true };
    });
    const fast = synthesized(plan, false);
    expect(Object.keys(fast)).toEqual(expect.arrayContaining(["stacks/vms-pve3/cdk.tf.json", "stacks/vms_ha/cdk.tf.json"]));
    expect(fast).toEqual(stockSynthesized(plan));
  });

  it("writes the per-VM resources without the bindings, and refuses a setting it has no Terraform name for", () => {
    const { PlainResource } = require("../constructs/plain-resource") as typeof import("../constructs/plain-resource");
    const app = Testing.app();
    const stack = new TerraformStack(app, "plain");
    const { KubernetesNodeVm } = require("../constructs/kubernetes-node-vm") as typeof import("../constructs/kubernetes-node-vm");
    const vm = new KubernetesNodeVm(stack, "vm-x", { vm: planWith().vms[0]! });
    expect(vm.resource).toBeInstanceOf(PlainResource);
    const config = { nodeName: "pve", bios: "ovmf" };
    expect(() => new PlainResource(stack, "odd", { type: "t", config: config as object, spec: { nodeName: "node_name" } })).toThrow(
      "t: the fast synth has no Terraform name for bios (add it to the PlainSpec)",
    );
  });

  it("writes a block made in its order (a plain resource's) as json-stable-stringify does: empty arrays and objects, and strings that look like them", () => {
    const block = () => ({
      "//": { metadata: { path: "a/b", uniqueId: "b" } },
      a: [],
      b: { c: {}, d: [[], {}, "[]", "{}"], e: 'x": []', f: "[]", g: ": {}" },
      "h\": []": [],
      i: [{ j: [] }],
      k: "line\n  []",
    });
    const empties = 7;
    const exact = block();
    Object.assign(exact, { [ORDERED_BLOCK]: empties });
    const document = (b: object) => ({ resource: { t: { n: b } } });
    expect(stableJson(document(exact))).toBe(stockStringify(document(block()), { space: 2 }));
    // A count that does not match: written the general way, with the same bytes.
    for (const count of [empties - 1, empties + 1]) {
      const miscounted = block();
      Object.assign(miscounted, { [ORDERED_BLOCK]: count });
      expect(stableJson(document(miscounted))).toBe(stockStringify(document(block()), { space: 2 }));
    }
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

  it("builds a stack's document as cdktf does where elements' JSON meets: the same paths, arrays, undefined values, a Date, tokens", () => {
    const build = (app: App) => {
      const stack = new TerraformStack(app, "merged");
      const when = new Date(0);
      const shared = { kept: "shared", empty: {} };
      // Where the second element merges in, and also elsewhere: deepMerge's copies keep the other place as it was.
      const nested = { deep: { one: 1 }, gone: "first" };
      new RawElement(stack, "first", () => ({
        resource: { t: { n: { a: 1, list: ["x"], nested, shared }, other: { b: 2, alias: nested } } },
        moved: [{ from: "a", to: "b" }],
      }));
      new RawElement(stack, "dated", () => ({ locals: { when, nested: { at: when } } }));
      new RawElement(stack, "second", () => ({
        // The same resource and name: deepMerge merges into what the first element put there.
        resource: { t: { n: { list: ["y"], nested: { deep: { two: Lazy.numberValue({ produce: () => 2 }) }, gone: undefined }, dropped: undefined }, third: { shared } } },
        // undefined deletes what an earlier element wrote, in cdktf's deepMerge; resolve drops it first.
        moved: undefined,
        data: { d: { e: { ref: Lazy.stringValue({ produce: () => "${data.x.y}" }), n: Token.asNumber(Lazy.numberValue({ produce: () => 7 })) } } },
      }));
      new RawElement(stack, "third", () => ({ resource: { t: { n: { nested: { deep: { three: [Lazy.stringValue({ produce: () => "z" })] } } } } } }));
    };
    const fast = synthesizedApp(build, false);
    expect(fast).toEqual(synthesizedApp(build, true));
    const json = JSON.parse(fast["stacks/merged/cdk.tf.json"]!);
    // What cdktf writes, for the record: merged objects, concatenated arrays, a Date turned into an empty object by deepMerge.
    expect(json.resource.t.n).toEqual({ a: 1, list: ["x", "y"], nested: { deep: { one: 1, two: 2, three: ["z"] }, gone: "first" }, shared: { kept: "shared", empty: {} } });
    expect(json.resource.t.other.alias).toEqual({ deep: { one: 1 }, gone: "first" });
    expect(json.moved).toEqual([{ from: "a", to: "b" }]);
    expect(json.locals).toEqual({ when: {}, nested: { at: {} } });
    expect(json.data.d.e).toEqual({ ref: "${data.x.y}", n: 7 });
  });

  it("turns keys to snake case and copies dynamic blocks out as cdktf's own functions do", () => {
    const util = require("cdktf/lib/util");
    const { TerraformDynamicBlock } = require("cdktf/lib/terraform-dynamic-block");
    const each = TerraformIterator.fromList(["a", "b"]);
    const dynamic = (content: object) => TerraformDynamicBlock.fromDynamicExpression(each.dynamic(content));
    const attributes = () => ({ a: 1, nested: { block: dynamic({ name: each.value }), list: [{ x: 1 }] }, block: dynamic({ id: each.key }), when: new Date(0), bare: Object.assign(Object.create(null), { k: 1 }), none: undefined });
    const meta = () => ({ dependsOn: ["x"], forEach: undefined, lifecycle: { createBeforeDestroy: true, ignoreChanges: ["someAttr"] }, tags: { keepCase: 1 }, environment: { KEEP: 1 }, "--odd Key__": [{ innerKey: 1 }, "s"] });
    // Compared without the creation stacks, which only cdktf's own way records.
    const plain = (value: unknown) => JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === "creationStack" ? undefined : v instanceof Date ? "a Date" : v)));
    const both = (f: () => unknown) => [plain(f()), (useFastSynth({ [STOCK_SYNTH_ENV]: "1" }), plain(f()))];
    try {
      const [fastDynamic, stockDynamic] = both(() => util.processDynamicAttributes(attributes()));
      expect(fastDynamic).toEqual(stockDynamic);
      expect(Object.keys((fastDynamic as { dynamic: object }).dynamic)).toEqual(["block"]);
      useFastSynth({});
      const [fastSnake, stockSnake] = both(() => util.keysToSnakeCase(meta()));
      expect(fastSnake).toEqual(stockSnake);
      expect(Object.keys(fastSnake as object)).toEqual(["depends_on", "lifecycle", "tags", "environment", "odd_key"]);
    } finally {
      useFastSynth({});
    }
  });

  it("checks number tokens in strings as cdktf's expression does", () => {
    const regex = cdktfNumberTokenRegex();
    const alphabet = ["e", "E", "1", "-", "|", ".", "+", "a", " "];
    const strings = [""];
    for (let length = 1; length <= 4; length++) for (const s of strings.filter((x) => x.length === length - 1)) for (const c of alphabet) strings.push(s + c);
    strings.push(String(Token.asNumber(Lazy.numberValue({ produce: () => 1 }))), `disk ${Token.asNumber(Lazy.numberValue({ produce: () => 1 }))} GB`, "1e5", "node-1e", "e1", "ünïcödé 1e+9");
    const disagree = strings.filter((s) => holdsNumberToken(s) !== regex.test(s));
    expect(disagree).toEqual([]);
    expect(strings.filter((s) => holdsNumberToken(s)).length).toBeGreaterThan(100);
  });

  it("gives every element the logical id cdktf's own allocateLogicalId gives it", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "stack");
    const elements: TerraformElement[] = [];
    const element = (scope: Construct, id: string) => elements.push(new RawElement(scope, id, () => ({})));
    const long = "x".repeat(250);
    // One component: as it is without the disallowed characters, unless longer than 255.
    for (const id of ["vm", "vm-1_a", "ä.b cd", long + "yyyyyy", "Resource"]) element(stack, id);
    // Several: repeats (a component the one kept before it ends with), "Resource", "Default", disallowed characters, a human part over 240.
    for (const [i, [outer, inner]] of [
      ["node-1", "1"],
      ["vm", "vm"],
      ["firewall-node", "node"],
      ["Resource", "x"],
      ["a", "Resource"],
      ["Default", "only"],
      ["ab.c", "d e"],
      [long, "tail"],
      ["node-1", "rules"],
    ].entries()) element(new Construct(new TerraformStack(app, `pair-${i}`), outer), inner);
    const deep = new Construct(new Construct(new Construct(stack, "a"), "Resource"), "a");
    element(deep, "Default");
    element(deep, "resource");
    // A repeat is one that the last component kept ends with, not the one just before it.
    element(new Construct(new Construct(stack, "xab"), "ab"), "xab");
    // An element inside a nested stack: that stack is its own.
    const nested = new TerraformStack(new Construct(stack, "holder"), "nested");
    element(new Construct(nested, "in"), "nested-element");
    const stockId = (e: TerraformElement) => (TerraformStack.prototype as unknown as { allocateLogicalId: (e: TerraformElement) => string }).allocateLogicalId.call(e.cdktfStack, e);
    const ids = elements.map((e) => [e.node.path, logicalId(e.cdktfStack, e), stockId(e)]);
    expect(ids.filter(([, fast, stock]) => fast !== stock)).toEqual([]);
    expect(new Set(ids.map(([, id]) => id)).size).toBe(elements.length);
    // What cdktf refuses (no components left) is left to it.
    const onlyDefault = new Construct(stack, "Default");
    element(onlyDefault, "Default");
    expect(logicalId(stack, elements.at(-1)!)).toBeUndefined();
    expect(() => stockId(elements.at(-1)!)).toThrow();
  });

  it("writes blocks whose keys are already in order as json-stable-stringify does, sharing what is shared", () => {
    const shared = { a: 1, b: [1, 2], c: { d: "x" } };
    const data = {
      resource: {
        t: {
          sorted: { "1": "index first", "2": "index", a: shared, b: shared, c: { x: undefined, y: () => 1 }, d: [undefined, () => 1, shared], e: { f: [], g: {} }, h: { toJSON: () => ({ z: 1, a: [] }) } },
          unsorted: { z: shared, a: { y: 1, x: 2 }, m: [{ b: 1, a: 2 }, {}] },
          dated: { at: new Date(0), list: [new Date(1)] },
          allUndefined: { only: undefined },
        },
      },
    };
    expect(stableJson(data)).toBe(stockStringify(data, { space: 2 }));
  });

  it("runs what cdktf runs before writing a stack as cdktf does: aspects, validations, custom synthesis, annotations", () => {
    /** Each way's app, with what each step of cdktf's synthesize acts on; `error` adds an error annotation. */
    const synthesizedWith = (stock: boolean, error: boolean) => {
      useFastSynth(stock ? { [STOCK_SYNTH_ENV]: "1" } : {});
      try {
        const outdir = mkdtempSync(path.join(tmpdir(), "pvdn-fast-synth-"));
        // Annotations without the stack that added them: the two ways add them from different places.
        const app = new App({ outdir, context: { [DISABLE_STACK_TRACE_IN_METADATA]: true } });
        const stack = new TerraformStack(app, "steps");
        const visits: string[] = [];
        const inner = new TerraformOutput(new Construct(new Construct(stack, "outer"), "inner"), "value", { value: "x" });
        const nested: IAspect = { visit: (node) => visits.push(`nested ${node.node.path}`) };
        const everywhere: IAspect = {
          visit: (node) => {
            visits.push(`everywhere ${node.node.path}`);
            if (node === stack) Annotations.of(node).addWarning("a warning on the stack");
            if (node === inner) {
              Annotations.of(node).addWarning("a warning from an aspect");
              Annotations.of(node).addInfo("an info");
              if (error) Annotations.of(node).addError("an error from an aspect");
              Aspects.of(node).add(nested);
            }
          },
        };
        Aspects.of(stack).add(everywhere);
        // The same aspect again below (invoked once there), and one of its own.
        Aspects.of(inner.node.scope!).add(everywhere);
        Aspects.of(inner.node.scope!).add({ visit: (node) => visits.push(`own ${node.node.path}`) });
        stack.node.addValidation({ validate: () => (visits.push("validated"), []) });
        addCustomSynthesis(inner, { onSynthesize: (session) => (visits.push("custom"), writeFileSync(path.join(session.outdir, "custom.txt"), visits.join("\n"))) });
        app.synth();
        return { files: tree(outdir), visits };
      } catch (e) {
        return { error: (e as Error).message };
      } finally {
        useFastSynth({});
      }
    };
    for (const error of [false, true]) {
      const fast = synthesizedWith(false, error);
      expect(fast).toEqual(synthesizedWith(true, error));
      if (error) expect(fast.error).toMatch(/an error from an aspect/);
      else expect(JSON.parse(fast.files!["manifest.json"]!).stacks.steps.annotations.map((a: { message: string }) => a.message)).toEqual(["a warning on the stack", "a warning from an aspect", "an info", "We detected an Aspect was added via another Aspect, and will not be applied"]);
    }
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
