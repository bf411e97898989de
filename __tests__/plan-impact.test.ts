/**
 * `pve-dualnet plan-impact OLD NEW`: what a change does to each resource, in a reviewer's words,
 * decided by the providers' own ForceNew rules (schemas/replacement-facts.yaml, read from their
 * source). The facts are judged against the providers' schemas (every attribute they name exists),
 * and, for the resources Terraform itself decides (terraform_data, and local_file through the
 * stand-in that behaves as hashicorp/local 2.6.1), against a real `terraform plan`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runCli } from "../cli";
import type { ClusterPlan } from "../config/plan";
import { parseReplacementFacts, planImpact, renderImpact, type Impact, type SynthesizedStacks } from "../renderers/impact";
import { synthesize } from "../stacks/synthesize";
import { dualBridgeNode, exampleInput, planWith, shardByNode, SHARDED_STACKS } from "./helpers";
import { synthesizedStacks } from "./synth";
import { layouts } from "./layouts";
import type { ToolResult } from "./lab/tools";
import { bindingSchema } from "./terraform/binding-schema";
import { toHtml } from "./judges/markdown";
import { judged, judgedSync, settingsIn } from "./lab/judged";
import { startLocalProvider } from "./terraform/local-provider";
import { referenceSchema, findReferenceSchema } from "./terraform/provider-schemas";
import { terraformAvailable } from "./terraform/terraform";

const root = path.join(__dirname, "..");
const FACTS_FILE = path.join(root, "schemas", "replacement-facts.yaml");
const facts = parseReplacementFacts(readFileSync(FACTS_FILE, "utf8"));
const dir = mkdtempSync(path.join(tmpdir(), "pvdn-impact-"));
const env: NodeJS.ProcessEnv = { ...process.env, PVE_DUALNET_SSH_PUBLIC_KEYS: "" };
delete env.PVE_DUALNET_CONFIG;

const stacksOf = (plan: ClusterPlan) => synthesizedStacks(plan) as SynthesizedStacks;
const example = stacksOf(planWith());
/** The impact of turning the example into the example after `edit` (or `from` into `to`). */
const impactOf = (edit: (c: any) => void, from: SynthesizedStacks = example): Impact => planImpact(from, stacksOf(planWith(edit)), facts, { old: "old.yaml", new: "new.yaml" });
const summaries = (impact: Impact) => impact.resources.map((r) => r.summary);
const of = (impact: Impact, subject: string) => impact.resources.find((r) => r.subject === subject)!;

/** A description file with `edit` applied to the example. */
function descriptionFile(name: string, edit: (c: any) => void = () => {}): string {
  const input = exampleInput();
  edit(input);
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(input));
  return file;
}

const inProcess = async (...args: string[]): Promise<ToolResult> => {
  let stdout = "";
  let stderr = "";
  const status = await runCli(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env });
  return { status, stdout, stderr };
};

const worker3 = (c: any) => c.vms.push({ name: "worker-3", id: 115, role: "worker", ip: { external: "192.168.0.15", internal: "10.0.0.15" } });

describe("what a change does, per VM and per host resource", () => {
  it("Cilium's values change its Helm release in place (helm upgrade), not a new release", () => {
    const cilium = (settings: Record<string, unknown>) => (c: any) => (c.kubernetes.cni = { plugin: "cilium", cilium: settings });
    const impact = impactOf(cilium({ hubble: true }), stacksOf(planWith(cilium({}))));
    const release = of(impact, "Helm release kube-system/cilium");
    expect(release.summary).toMatch(/^changes Helm release kube-system\/cilium in place: values \(1 items, sha256 \w+…\) → \(1 items, sha256 \w+…\)$/);
  });

  it("a resize is in place, and says that memory waits for a restart the provider will not do", () => {
    const impact = impactOf((c) => (c.vms[3].memory = 16384));
    expect(summaries(impact)).toEqual(["resizes app-worker in place: memory.dedicated 8192 → 16384"]);
    expect(of(impact, "app-worker").notes).toEqual([
      "needs a restart: memory.dedicated takes effect when app-worker next restarts (reboot_after_update is false: the provider leaves the change pending and does not restart it)",
    ]);
    expect(of(impact, "app-worker").warnings).toEqual([]);
  });

  it("more vCPUs: a resize whose NIC queues follow, and Proxmox re-plugs both NICs for it", () => {
    const vm = of(
      impactOf((c) => (c.vms[0].cpu = { cores: 8 })),
      "master-1",
    );
    expect(vm.summary).toBe("resizes master-1 in place: cpu.cores 4 → 8; network_device[0].queues 4 → 8; network_device[1].queues 4 → 8");
    expect(vm.notes).toEqual([
      expect.stringMatching(/^needs a restart: cpu\.cores takes effect when master-1 next restarts/),
      "net0 (network_device[0]): queues changed: Proxmox hot-unplugs the NIC and plugs it in again: the guest loses it for a moment and sees a new device",
      "net1 (network_device[1]): queues changed: Proxmox hot-unplugs the NIC and plugs it in again: the guest loses it for a moment and sees a new device",
    ]);
  });

  it("a NIC change (jumbo frames) is in place on every VM, re-plugs the internal NIC, and runs the host's network apply again", () => {
    const impact = impactOf((c) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true }));
    for (const name of ["master-1", "master-2", "master-3", "app-worker"]) {
      expect(of(impact, name).summary).toBe(`changes ${name} in place: network_device[1].mtu 1500 → 9000`);
      expect(of(impact, name).notes).toEqual(["net1 (network_device[1]): mtu changed: Proxmox hot-unplugs the NIC and plugs it in again: the guest loses it for a moment and sees a new device"]);
    }
    const apply = of(impact, "the network apply on pve");
    expect(apply).toMatchObject({ stack: "host-network", action: "replace", effect: "rerun" });
    expect(apply.summary).toMatch(/^runs the network apply on pve again: triggers_replace\.interfaces [0-9a-f]{12}… → [0-9a-f]{12}…; triggers_replace\["network\.env"\] /);
    expect(impact.resources.filter((r) => r.effect === "recreate")).toEqual([]);
  });

  it("a MAC address of its own re-plugs that NIC only", () => {
    const vm = of(
      impactOf((c) => (c.vms[1].mac = { external: "02:aa:00:00:00:01" })),
      "master-2",
    );
    expect(vm.summary).toBe("changes master-2 in place: network_device[0].mac_address 02:00:00:00:00:70 → 02:AA:00:00:00:01");
    expect(vm.notes).toEqual([expect.stringMatching(/^net0 \(network_device\[0\]\): mac_address changed: Proxmox hot-unplugs the NIC/)]);
  });

  it("a new template (clone.vm_id) is ignored for existing VMs, says it would force a new VM, and how to rebuild one on purpose", () => {
    const impact = impactOf((c) => (c.vmDefaults.source = { clone: { vmId: 9001 } }));
    expect(impact.resources.map((r) => [r.subject, r.action])).toEqual(["app-worker", "master-1", "master-2", "master-3"].map((name) => [name, "none"]));
    const vm = of(impact, "master-2");
    expect(vm.summary).toBe("keeps master-2 as it is");
    expect(vm.notes).toEqual([
      `ignored (lifecycle ignore_changes): clone.vm_id 9000 → 9001; it would force a new VM: to rebuild master-2 from it on purpose, terraform apply -replace='${vm.address}' in the vms stack`,
    ]);
    expect(vm.changes).toEqual([{ path: "clone.vm_id", old: 9000, new: 9001, forcesReplacement: false, ignored: true }]);
  });

  it("a new vm_id replaces the VM (the provider's CustomizeDiff), its firewall follows it in place", () => {
    const impact = impactOf((c) => (c.vms[1].id = 122));
    const vm = of(impact, "master-2");
    expect(vm).toMatchObject({ action: "replace", effect: "recreate" });
    expect(vm.summary).toBe("replaces master-2: vm_id 112 → 122 forces a new VM");
    expect(vm.changes.find((c) => c.path === "vm_id")).toMatchObject({ forcesReplacement: true, at: expect.stringMatching(/^proxmoxtf\/resource\/vm\/vm\.go:1767/) });
    expect(vm.notes[0]).toBe("with: network_device[0].mac_address 02:00:00:00:00:70 → 02:00:00:00:00:7A; network_device[1].mac_address 02:01:00:00:00:70 → 02:01:00:00:00:7A");
    expect(of(impact, "the firewall rules of master-2").summary).toBe("changes the firewall rules of master-2 in place: vm_id 112 → 122");
  });

  it("switching the source from a template to a cloud image replaces every VM: the clone block goes (ForceNew)", () => {
    const impact = impactOf((c) => (c.vmDefaults.source = { image: { url: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img", fileName: "noble.qcow2" } }));
    const vm = of(impact, "master-1");
    expect(vm.summary).toBe('replaces master-1: clone {"full":true,"vm_id":9000} → (none) forces a new VM');
    expect(vm.notes[0]).toMatch(/^with: disk\[0\]\.import_from \(none\) → local:import\/noble\.qcow2/);
    expect(of(impact, "the image noble.qcow2 on pve").summary).toBe("adds the image noble.qcow2 on pve");
  });

  it("moving a VM to another Proxmox node migrates it in place (migrate = true), and would replace it without", () => {
    const twoNodes = (c: any) => c.proxmox.nodes.push(dualBridgeNode("pve2", "192.168.0.3", "10.0.0.3"));
    const pinned = (c: any) => (twoNodes(c), c.vms.forEach((vm: any) => (vm.node = "pve")));
    const from = stacksOf(planWith(pinned));
    const impact = impactOf((c) => (pinned(c), (c.vms[3].node = "pve2")), from);
    expect(of(impact, "app-worker").summary).toBe("migrates app-worker to pve2 in place: node_name pve → pve2");
    const withoutMigrate = structuredClone(stacksOf(planWith((c) => (pinned(c), (c.vms[3].node = "pve2"))))) as any;
    for (const vm of Object.values<any>(withoutMigrate.vms.resource.proxmox_virtual_environment_vm)) vm.migrate = false;
    expect(of(planImpact(from, withoutMigrate, facts, { old: "a", new: "b" }), "app-worker").summary).toBe("replaces app-worker: node_name pve → pve2 forces a new VM");
  });

  it("a smaller disk: the provider refuses to shrink it, and says so before apply", () => {
    const vm = of(
      impactOf((c) => (c.vms[3].disk = { size: 30 })),
      "app-worker",
    );
    expect(vm.summary).toBe("resizes app-worker in place: disk[0].size 40 → 30");
    expect(vm.warnings).toEqual(["disk[0].size 40 → 30: the provider cannot shrink a disk and fails the apply"]);
  });

  it("NIC list and ip_config order changes carry the provider's documented warnings (bpg #1529, #2615)", () => {
    const changed = structuredClone(example) as any;
    const vm = Object.values<any>(changed.vms.resource.proxmox_virtual_environment_vm).find((v) => v.name === "master-1");
    vm.network_device.reverse();
    vm.initialization.ip_config.reverse();
    const impact = planImpact(example, changed, facts, { old: "a", new: "b" });
    expect(of(impact, "master-1").warnings).toEqual([expect.stringMatching(/\(bpg issue #1529, open in v0\.111\.1\)$/), expect.stringMatching(/\(bpg issue #2615\)/)]);
    // Each NIC's re-plug is said for both positions too.
    expect(of(impact, "master-1").notes.filter((n) => n.startsWith("net"))).toHaveLength(2);
    // A third NIC: the list grows.
    const grown = structuredClone(example) as any;
    const vm2 = Object.values<any>(grown.vms.resource.proxmox_virtual_environment_vm).find((v) => v.name === "master-2");
    vm2.network_device.push({ ...vm2.network_device[1], mac_address: "02:02:00:00:00:70", bridge: "vmbr2" });
    const warnings = of(planImpact(example, grown, facts, { old: "a", new: "b" }), "master-2").warnings;
    expect(warnings.map((w) => /#(\d+)/.exec(w)![1])).toEqual(["1529", "2615"]);
  });
});

describe("VM identity: by name, never by position", () => {
  it("adding a worker adds exactly it (with its firewall), and rewrites the inventory", () => {
    const text = renderImpact(impactOf(worker3));
    expect(text).toMatch(
      /^pve-dualnet plan impact\n\nold\.yaml → new\.yaml: 3 to add, 1 generated file to rewrite; \d+ unchanged\n\nvms:\n {2}adds worker-3 with its firewall options and firewall rules\n {2}rewrites generated\/ansible\/inventory\.ini: content \(17 lines, sha256 [0-9a-f]{12}…\) → \(18 lines, sha256 [0-9a-f]{12}…\)\n$/,
    );
  });

  it("removing a worker removes exactly it", () => {
    const text = renderImpact(planImpact(stacksOf(planWith(worker3)), example, facts, { old: "old.yaml", new: "new.yaml" }));
    expect(text.split("\n").filter((l) => l.startsWith("  "))).toEqual([
      "  removes worker-3 with its firewall options and firewall rules",
      expect.stringMatching(/^ {2}rewrites generated\/ansible\/inventory\.ini: /),
    ]);
  });

  it("reordering the VMs changes no VM, firewall or security group: only the generated files list them in the new order", () => {
    for (const order of [[0, 2, 1, 3], [3, 2, 1, 0]]) {
      const impact = impactOf((c) => (c.vms = order.map((i) => c.vms[i])));
      expect(impact.resources.map((r) => r.type)).toEqual(impact.resources.map(() => "local_file"));
    }
  });

  it("on several Proxmox nodes, removing a VM from the middle can move the unpinned ones after it (said as migrations); pinned VMs stay", () => {
    const twoNodes = (c: any) => c.proxmox.nodes.push(dualBridgeNode("pve2", "192.168.0.3", "10.0.0.3"));
    const removeMaster2 = (c: any) => c.vms.splice(1, 1);
    const from = stacksOf(planWith(twoNodes));
    const moved = impactOf((c) => (twoNodes(c), removeMaster2(c)), from);
    expect(moved.resources.filter((r) => r.type === "proxmox_virtual_environment_vm").map((r) => r.summary)).toEqual([
      "removes master-2",
      "migrates app-worker to pve in place: node_name pve2 → pve",
      "migrates master-3 to pve2 in place: node_name pve → pve2",
    ]);
    const pin = (c: any) => (twoNodes(c), c.vms.forEach((vm: any, i: number) => (vm.node = i % 2 ? "pve2" : "pve")));
    const pinned = impactOf((c) => (pin(c), removeMaster2(c)), stacksOf(planWith(pin)));
    expect(pinned.resources.filter((r) => r.type.startsWith("proxmox_virtual_environment_vm")).map((r) => r.summary)).toEqual(["removes master-2"]);
  });
});

describe("output", () => {
  it("Markdown for a pull request: every value escaped, so none renders as markup", () => {
    const hostile = "<img src=x onerror=alert(1)> **bold** [link](https://example.com) `code` | cell";
    const md = renderImpact(
      impactOf((c) => (c.vms[0].description = hostile)),
      "markdown",
    );
    expect(md).toMatch(/^## pve-dualnet plan impact\n\nold\.yaml → new\.yaml: 1 to change in place; \d+ unchanged\n\n### vms\n- \*\*changes master-1 in place\*\*: description /);
    expect(md).toContain(markdownEscaped(hostile));
    // Judged by marked (GitHub-flavoured): the value reads as written, nothing in it renders.
    // (GitHub links a bare URL to itself: it still reads as written.)
    const html = toHtml(md).replace(/<a href="([^"]*)">\1<\/a>/g, "$1");
    expect(html).not.toMatch(/<img|<strong>bold|<a |<code>|<table/);
    expect(html.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&")).toContain(hostile);
    // The check can fail: the same value unescaped renders.
    expect(toHtml(`- ${hostile}`)).toMatch(/<img/);
  });

  it("JSON: one stable document (same input, same bytes), every change with its fact", () => {
    const a = renderImpact(impactOf((c) => (c.vms[1].id = 122)), "json");
    const b = renderImpact(impactOf((c) => (c.vms[1].id = 122)), "json");
    expect(a).toBe(b);
    const json = JSON.parse(a);
    expect(Object.keys(json)).toEqual(["format", "old", "new", "replaces", "unchanged", "resources"]);
    expect(json.replaces).toBe(true);
    const vm = json.resources[0];
    expect(Object.keys(vm)).toEqual(["stack", "address", "type", "subject", "owner", "action", "effect", "summary", "changes", "notes", "warnings"]);
    expect(vm.changes.find((c: any) => c.path === "vm_id")).toEqual({ path: "vm_id", old: "112", new: "122", forcesReplacement: true, ignored: false, at: expect.stringContaining("vm.go") });
  });

  it("terminal-safe: a control character in a synthesized value is shown escaped", () => {
    const changed = structuredClone(example) as any;
    Object.values<any>(changed.vms.resource.proxmox_virtual_environment_vm)[0].description = "x\u001b[2Jy\u202e";
    expect(renderImpact(planImpact(example, changed, facts, { old: "a", new: "b" }))).not.toMatch(/[\u001b\u202e]/);
  });
});

/** markdownText's escaping, independently: a backslash before every markup character. */
const markdownEscaped = (text: string) => text.replace(/[\\`*_[\]<>&|~#!{}]/g, "\\$&");

describe("the pve-dualnet plan-impact command", () => {
  it("compares two descriptions, exit 0; --fail-on-replace exits 3 only when something is replaced", async () => {
    const old = descriptionFile("old.json");
    const resized = descriptionFile("resized.json", (c) => (c.vms[3].memory = 16384));
    const renumbered = descriptionFile("renumbered.json", (c) => (c.vms[1].id = 122));
    const plain = await inProcess("plan-impact", old, resized);
    expect(plain.stdout).toContain("  resizes app-worker in place: memory.dedicated 8192 → 16384\n");
    expect(plain.status).toBe(0);
    expect(plain.stderr.match(/no SSH public key/g)).toHaveLength(1);
    expect((await inProcess("plan-impact", old, resized, "--fail-on-replace")).status).toBe(0);
    const replaced = await inProcess("plan-impact", old, renumbered, "--fail-on-replace", "--format", "markdown");
    expect(replaced.stdout).toContain("- **replaces master-2**: vm\\_id 112 → 122 forces a new VM\n");
    expect(replaced.stderr).toContain("plan-impact: a resource would be replaced (--fail-on-replace)\n");
    expect(replaced.status).toBe(3);
  });

  it("takes synth output directories (the base branch's cdktf.out) as well as descriptions", async () => {
    const out = path.join(dir, "base-out");
    synthesize(planWith(), out);
    const result = await inProcess("plan-impact", out, descriptionFile("added.json", worker3), "-f", "json");
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).resources.map((r: any) => r.summary)).toEqual([
      "adds worker-3",
      "adds the firewall options of worker-3",
      "adds the firewall rules of worker-3",
      expect.stringMatching(/^rewrites generated\/ansible\/inventory\.ini/),
    ]);
  });

  it("a broken description: its problems once, exit 1, nothing on stdout; a directory that is no synth output: exit 1", async () => {
    const broken = descriptionFile("broken.json", (c) => (c.networks.internal.gatway = "10.0.0.1"));
    const result = await inProcess("plan-impact", descriptionFile("fine.json"), broken);
    expect(result.stderr).toMatch(/broken\.json: 1 problem in the cluster description\n\s+- networks\.internal\.gatway: unknown key "gatway"/);
    expect(result.stdout).toBe("");
    expect(result.status).toBe(1);
    const notSynth = await inProcess("plan-impact", dir, broken);
    expect(notSynth.stderr).toContain("a directory without manifest.json");
    expect(notSynth.status).toBe(1);
  });

  it.each([
    [["plan-impact", "examples/cluster.yaml"], /missing required argument 'new'/],
    [["plan-impact", "a", "b", "--format", "html"], /argument 'html' is invalid/],
  ])("rejects the command line %j with exit status 2", async (args, message) => {
    const result = await inProcess(...args);
    expect(result.stderr).toMatch(message);
    expect(result.status).toBe(2);
  });
});

describe("stacks in build order", () => {
  it("reads a synth's stacks in build order, shards between vms and cni, and reports them so", () => {
    const sharded = stacksOf(planWith(shardByNode));
    expect(Object.keys(sharded)).toEqual([...SHARDED_STACKS]);
    // Jumbo frames touch the hosts, every shard's VMs and the CNI.
    const jumbo = (c: any) => (shardByNode(c), (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true }));
    const impact = planImpact(sharded, stacksOf(planWith(jumbo)), facts, { old: "a", new: "b" });
    const order = [...new Set(impact.resources.map((r) => r.stack))];
    expect(order).toEqual(SHARDED_STACKS.filter((s) => order.includes(s)));
    expect(order).toEqual(expect.arrayContaining(["host-network", "vms-pve", "cni"]));
  });
});

describe("docs/delivery.md", () => {
  const doc = readFileSync(path.join(root, "docs", "delivery.md"), "utf8");

  it("shows the example's impact as the command prints it (regenerate: run the command and paste)", async () => {
    const block = /<!-- BEGIN plan-impact example -->\n```console\n\$ node bin\/pve-dualnet\.mjs (.*)\n([\s\S]*?)```\n<!-- END plan-impact example -->/.exec(doc)!;
    const result = await inProcess(...block[1]!.split(" "));
    expect(result.status).toBe(0);
    expect(block[2]).toBe(result.stdout);
  });

  it("every pve-dualnet command it shows runs as written", async () => {
    const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const commands = blocks
      .flatMap((b) => b.split("\n"))
      .map((line) => line.replace(/\s+#.*$/, ""))
      .flatMap((line) => line.split(" && "))
      .filter((part) => /^node bin\/pve-dualnet\.mjs (plan-impact|synth examples)/.test(part));
    expect(commands.length).toBeGreaterThanOrEqual(5);
    for (const command of commands) {
      const result = await inProcess(...command.replace(/^node bin\/pve-dualnet\.mjs /, "").split(/\s+/));
      expect([command, result.status, result.stderr.replace(/^warning: .*\n/gm, "")]).toEqual([command, 0, ""]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The facts, judged
// ---------------------------------------------------------------------------------------------

/** Whether an attribute path exists in a resource's schema block (list indexes left out). */
function inSchema(block: any, attributePath: string): boolean {
  const [head, ...rest] = attributePath.split(".");
  const attribute = block.attributes?.[head!];
  if (attribute) return rest.length === 0 || inType(attribute.type, rest);
  const nested = block.block_types?.[head!];
  return Boolean(nested) && (rest.length === 0 || inSchema(nested.block, rest.join(".")));
}
function inType(type: any, rest: string[]): boolean {
  if (type === "dynamic") return true; // kubernetes_manifest.manifest: any object
  if (Array.isArray(type) && ["list", "set", "map"].includes(type[0])) return type[0] === "map" || inType(type[1], rest);
  if (Array.isArray(type) && type[0] === "object") return rest[0]! in type[1] && (rest.length === 1 || inType(type[1][rest[0]!], rest.slice(1)));
  return false;
}

/** Every attribute path a type's facts name. */
function factPaths(type: string): string[] {
  const t = facts.resources[type]!;
  return [
    ...t.forceNew.flatMap((f) => [f.path, ...(f.unlessTrue ? [f.unlessTrue] : [])]),
    ...(t.restart ? [t.restart.rebootAfterUpdate, ...t.restart.paths.flatMap((p) => [p.path, ...(Array.isArray(p.hotpluggable) ? p.hotpluggable : [])])] : []),
    ...(t.refuse ?? []).map((r) => r.path),
    ...(t.notes ?? []).map((n) => n.path),
    ...(t.nic ? [t.nic.list, ...[t.nic.replug, t.nic.retap, t.nic.live].flatMap((e) => e.fields.map((f) => `${t.nic!.list}.${f}`))] : []),
  ];
}

/** Every resource type any variant of the stacks emits (as provider-schema.test.ts gathers them). */
const emitted = new Set(
  [
    () => {},
    (c: any) => (c.vmDefaults.cloudInit.networkData = { enabled: true }),
    (c: any) => (c.vmDefaults.source = { image: { url: "https://example.com/noble.qcow2" } }),
    (c: any) => (c.kubernetes.cni.plugin = "calico"),
    (c: any) => (c.kubernetes.cni.plugin = "cilium"),
    ...Object.values(layouts),
  ].flatMap((edit) => Object.values(stacksOf(planWith(edit))).flatMap((stack: any) => Object.keys(stack.resource ?? {}))),
);

describe("the replacement facts (schemas/replacement-facts.yaml)", () => {
  const reference = referenceSchema();

  it("cover every resource type the stacks emit", () => {
    expect([...emitted].filter((t) => !(t in facts.resources)).sort()).toEqual([]);
    expect(Object.keys(facts.resources).filter((t) => !emitted.has(t))).toEqual([]);
  });

  (reference ? it : it.skip)("name only attributes of bpg/proxmox's schema at v0.111.1, the same commit the reference schema was derived from", () => {
    const commit = /commit ([0-9a-f]{7,})/.exec(readFileSync(path.join(path.dirname(findReferenceSchema()!), "SCHEMA.md"), "utf8"))![1]!;
    expect(facts.provenance["bpg/proxmox"]!.commit!.startsWith(commit)).toBe(true);
    const bpg = Object.keys(facts.resources).filter((t) => facts.resources[t]!.provider === "bpg/proxmox");
    expect(bpg.length).toBeGreaterThanOrEqual(6);
    for (const type of bpg) {
      const schema = reference.resource_schemas[type];
      expect([type, Boolean(schema)]).toEqual([type, true]);
      expect([type, factPaths(type).filter((p) => !inSchema(schema.block, p))]).toEqual([type, []]);
    }
  });

  it("name only attributes of hashicorp/local's, hashicorp/kubernetes's and hashicorp/helm's schemas (rebuilt from the pinned bindings)", () => {
    for (const [pkg, address, provider] of [
      ["@cdktf/provider-local", "registry.terraform.io/hashicorp/local", "hashicorp/local"],
      ["@cdktf/provider-kubernetes", "registry.terraform.io/hashicorp/kubernetes", "hashicorp/kubernetes"],
      ["@cdktf/provider-helm", "registry.terraform.io/hashicorp/helm", "hashicorp/helm"],
    ] as const) {
      const types = Object.keys(facts.resources).filter((t) => facts.resources[t]!.provider === provider);
      expect([provider, types.length]).not.toEqual([provider, 0]);
      const schemas = (bindingSchema(pkg, address, types, { nestedAttributes: provider === "hashicorp/helm" }) as any).provider_schemas[address].resource_schemas;
      for (const type of types) expect([type, factPaths(type).filter((p) => !inSchema(schemas[type].block, p))]).toEqual([type, []]);
    }
  });

  (terraformAvailable() ? it : it.skip)("name only attributes of terraform_data's schema, as Terraform 1.11 serves it", () => {
    const config = JSON.stringify({ resource: { terraform_data: { x: {} } } });
    // Terraform's answer depends on the configuration and on Terraform: the judges' cache replays it.
    const served = judgedSync({ judge: "terraform init && terraform providers schema -json", texts: { "main.tf.json": config } }, () => {
      const work = mkdtempSync(path.join(tmpdir(), "pvdn-tfdata-"));
      writeFileSync(path.join(work, "main.tf.json"), config);
      const tf = (...args: string[]) => spawnSync("terraform", args, { cwd: work, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" } });
      const init = tf("init", "-input=false", "-no-color");
      return init.status === 0 ? tf("providers", "schema", "-json") : init;
    });
    expect(served.status).toBe(0);
    const schema = JSON.parse(served.stdout).provider_schemas["terraform.io/builtin/terraform"].resource_schemas.terraform_data;
    expect(factPaths("terraform_data").filter((p) => !inSchema(schema.block, p))).toEqual([]);
  });

  it("would notice an attribute the provider does not have (the check can fail), and a malformed file", () => {
    const block = reference?.resource_schemas.proxmox_virtual_environment_vm.block ?? { attributes: { vm_id: {} }, block_types: { clone: { block: { attributes: { vm_id: {} } } } } };
    expect(inSchema(block, "clone.vm_id")).toBe(true);
    expect(inSchema(block, "clone.vmid")).toBe(false);
    expect(inSchema(block, "vm_idd")).toBe(false);
    if (reference) {
      expect(inSchema(block, "network_device.mtu")).toBe(true);
      expect(inSchema(block, "network_device.mtuu")).toBe(false);
    }
    const text = readFileSync(FACTS_FILE, "utf8");
    expect(() => parseReplacementFacts(text.replace('{ path: clone.vm_id, at: "proxmoxtf/resource/vm/vm.go:626" }', "{ path: clone.vm_id }"))).toThrow(/resources\.proxmox_virtual_environment_vm\.forceNew\.\d+\.at/);
    expect(() => parseReplacementFacts(text.replace("replacement: recreate", "replacement: sometimes"))).toThrow(/replacement/);
  });
});

// ---------------------------------------------------------------------------------------------
// Judged by Terraform: what Terraform decides itself (terraform_data) or through hashicorp/local's stand-in
// ---------------------------------------------------------------------------------------------

/** host-network's stack without what only SSH can run (provisioners, connection): planning is the same. */
function offline(stacks: SynthesizedStacks): any {
  const stack = structuredClone(stacks["host-network"]) as any;
  for (const apply of Object.values<any>(stack.resource.terraform_data)) {
    delete apply.provisioner;
    delete apply.connection;
  }
  return stack;
}

(terraformAvailable() ? describe : describe.skip)("host-network's verdicts, judged by a real terraform plan", () => {
  it.concurrent("jumbo frames: Terraform replaces exactly what plan-impact says it rewrites or runs again", async () => {
    const after = stacksOf(planWith((c) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true })));
    const project = mkdtempSync(path.join(tmpdir(), "pvdn-impact-tf-"));
    const work = path.join(project, "cdktf.out", "stacks", "host-network");
    synthesize(planWith(), path.join(project, "cdktf.out"));
    writeFileSync(path.join(work, "cdk.tf.json"), JSON.stringify(offline(example)));
    const afterStack = JSON.stringify(offline(after));
    // A judge (lab/judged.ts) as local-provider.test.ts's cdktf deploy is: the project with the
    // example's stack, the stack after the change, the stand-in (terraform/) and Terraform's
    // settings; its answer, Terraform's plan, is replayed when none of them changed.
    const plan = await judged(
      {
        judge: "terraform init && terraform apply (the example) && terraform plan -json -detailed-exitcode (AFTER) through hashicorp/local's stand-in",
        texts: { after: afterStack, env: settingsIn(process.env, "TF_") },
        inputs: [project, path.join(__dirname, "terraform")],
      },
      async () => {
        const local = await startLocalProvider({ workingDirectory: work });
        try {
          const run = async (...args: string[]) => {
            const result = await local.terraform(args, work);
            if (result.status !== 0 && !(args[0] === "plan" && result.status === 2)) throw new Error(`terraform ${args[0]}: ${result.output}`);
            return result;
          };
          await run("init", "-input=false", "-no-color");
          await run("apply", "-auto-approve", "-input=false", "-no-color");
          writeFileSync(path.join(work, "cdk.tf.json"), afterStack);
          const { status, output } = await run("plan", "-json", "-input=false", "-lock=false", "-detailed-exitcode");
          return { status, stdout: output, stderr: "" };
        } finally {
          await local.stop();
        }
      },
    );
    const terraform = plan.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line))
      .filter((m) => m.type === "planned_change")
      .map((m) => `${m.change.action} ${m.change.resource.addr}`)
      .sort();
    const ours = planImpact(example, after, facts, { old: "a", new: "b" })
      .resources.filter((r) => r.stack === "host-network")
      .map((r) => `${r.action} ${r.address}`)
      .sort();
    expect(terraform.length).toBeGreaterThanOrEqual(3);
    expect(ours).toEqual(terraform);
  }, 120_000);
});
