/**
 * Terraform itself judges every stack pve-dualnet synthesizes: `terraform init`, `validate` and
 * `plan -refresh=false` against the providers' schemas, offline (see terraform/terraform.ts).
 * Every layout and option the other tests synthesize is here, and each kind of mistake the
 * checks exist for is shown failing on a mutated stack.
 */
import { readFileSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { LocalProvider } from "@cdktf/provider-local/lib/provider";
import { Aspects, TerraformStack, Testing } from "cdktf";
import { GeneratedFile } from "../constructs/generated-file";
import { TerraformLiterals } from "../constructs/terraform-text";
import { synthesize } from "../stacks/synthesize";
import { dualBridgeNode, dualStack, planWith, shardByNode, SHARDED_STACKS } from "./helpers";
import { layouts } from "./layouts";
import { resourceTypes, TerraformJudge, terraformAvailable } from "./terraform/terraform";

type Edit = (c: any) => void;
const STACKS = ["host-network", "vms", "cni"] as const;
type StackName = (typeof STACKS)[number] | (typeof SHARDED_STACKS)[number] | "vms_ha";

/** Synthesizes a description as the app does (stacks/synthesize.ts), returning each stack's cdk.tf.json. */
function stacksOf(edit: Edit): Record<StackName, any> {
  const outdir = mkdtempSync(path.join(tmpdir(), "pvdn-synth-"));
  try {
    synthesize(planWith(edit), outdir);
    const ids = Object.keys(JSON.parse(readFileSync(path.join(outdir, "manifest.json"), "utf8")).stacks);
    return Object.fromEntries(ids.map((s) => [s, JSON.parse(readFileSync(path.join(outdir, "stacks", s, "cdk.tf.json"), "utf8"))])) as Record<StackName, any>;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

interface Variant {
  readonly name: string;
  readonly edit: Edit;
  readonly stacks: readonly StackName[];
  /** Plan as well as validate (not for remote backends, which need credentials). */
  readonly plan: boolean;
}

const threeNodes = (c: any) => c.proxmox.nodes.push(dualBridgeNode("pve2", "192.168.0.3", "10.0.0.3"), dualBridgeNode("pve3", "192.168.0.4", "10.0.0.4"));

const variants: Variant[] = [
  { name: "built-in example", edit: () => {}, stacks: STACKS, plan: true },
  ...Object.entries(layouts)
    .filter(([name]) => name !== "dual bridge (default)")
    .map(([name, edit]) => ({
      name: `layout: ${name}`,
      // Every optional host file too: sysctl tuning and IPv6 off.
      edit: (c: any) => (edit(c), (c.sysctl = { disableIpv6: true, tuning: {} })),
      stacks: ["host-network"] as const,
      plan: true,
    })),
  {
    name: "jumbo internal network, network-data snippet",
    edit: (c) => {
      layouts["jumbo internal network"]!(c);
      c.vmDefaults.cloudInit.networkData = { enabled: true };
    },
    stacks: ["vms", "cni"],
    plan: true,
  },
  {
    name: "cloud image source",
    edit: (c) => (c.vmDefaults.source = { image: { url: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img", fileName: "noble.qcow2", checksum: "a".repeat(64) } }),
    stacks: ["vms"],
    plan: true,
  },
  {
    name: "Proxmox HA on Proxmox VE 9: HA resources, node-affinity and anti-affinity rules",
    edit: (c) => (threeNodes(c), (c.proxmox.ha = { enabled: true })),
    stacks: ["vms"],
    plan: true,
  },
  {
    name: "Proxmox HA on Proxmox VE 8: HA resources and groups",
    edit: (c) => (threeNodes(c), (c.proxmox.version = 8), (c.proxmox.ha = { enabled: true })),
    stacks: ["vms"],
    plan: true,
  },
  { name: "calico", edit: (c) => (c.kubernetes.cni = { plugin: "calico" }), stacks: ["cni"], plan: true },
  {
    name: "LoadBalancer pool: the security group's rules to the pool, kube-vip-cloud-provider",
    edit: (c) => (c.kubernetes.loadBalancer = { addresses: ["192.168.0.200-192.168.0.220", "192.168.0.232/29"], ports: [{ protocol: "tcp", ports: "80,443" }, { protocol: "udp", ports: "53", from: "0.0.0.0/0" }] }),
    stacks: ["vms", "cni"],
    plan: true,
  },
  { name: "flannel wireguard", edit: (c) => (c.kubernetes.cni.flannel = { backend: "wireguard" }), stacks: ["cni"], plan: true },
  {
    // The helm provider and helm_release (hashicorp/helm 3.1.1), kube-vip-cloud-provider after the release.
    name: "cilium: its Helm release (native routing, kube-proxy replacement, Hubble, pinned names, a LoadBalancer pool)",
    edit: (c) => (
      (c.vmDefaults.cloudInit.networkData = { enabled: true }),
      (c.kubernetes.cni = { plugin: "cilium", cilium: { routingMode: "native", kubeProxyReplacement: true, hubble: true } }),
      (c.kubernetes.loadBalancer = { addresses: ["192.168.0.200"] })
    ),
    stacks: ["cni"],
    plan: true,
  },
  { name: "cilium geneve", edit: (c) => (c.kubernetes.cni = { plugin: "cilium", cilium: { tunnelProtocol: "geneve" } }), stacks: ["cni"], plan: true },
  {
    // Every stack of a sharded description: the cluster-wide vms, a shard per node (one of them
    // without VMs), cni after all of them; with images and snippets, which go with their VMs.
    name: "VMs sharded by node (vmStacks.shardBy: node), cloud image, network-data snippet",
    edit: (c) => {
      shardByNode(c);
      c.vmDefaults.source = { image: { url: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img", fileName: "noble.qcow2" } };
      c.vmDefaults.cloudInit.networkData = { enabled: true };
    },
    stacks: SHARDED_STACKS.filter((s) => s.startsWith("vms")),
    plan: true,
  },
  {
    // HA split over shards: each shard its VMs' HA resources and node-affinity rules, vms_ha the control planes' rule.
    name: "VMs sharded by node with Proxmox HA on Proxmox VE 9",
    edit: (c) => {
      shardByNode(c);
      ["pve", "pve2", "pve3"].forEach((node, i) => (c.vms[i].node = node));
      c.proxmox.ha = { enabled: true };
    },
    stacks: ["vms-pve2", "vms_ha"],
    plan: true,
  },
  {
    // Dual-stack (issue 22 item 1): ip_config.ipv6 and IPv6 DNS servers, the IPv6 firewall rules,
    // the network-data snippets with both families, the hosts' inet6 stanzas.
    name: "dual-stack: VM ip_config.ipv6, IPv6 firewall rules, network-data snippets, host inet6 stanzas",
    edit: (c) => (dualStack(c), (c.vmDefaults.cloudInit.networkData = { enabled: true }), (c.firewall = { nodePorts: true, rules: [{ protocol: "tcp", ports: "9100", from: "fd00:10::/72" }] })),
    stacks: ["host-network", "vms"],
    plan: true,
  },
  // Dual-stack (networks.internal.ipv6): Flannel's and Calico's IPv6 pools through the kubernetes provider.
  { name: "dual-stack flannel", edit: dualStack, stacks: ["cni"], plan: true },
  { name: "dual-stack calico", edit: (c) => (dualStack(c), (c.kubernetes.cni = { plugin: "calico" })), stacks: ["cni"], plan: true },
  { name: "dual-stack cilium", edit: (c) => (dualStack(c), (c.kubernetes.cni = { plugin: "cilium" })), stacks: ["cni"], plan: true },
  { name: "Terraform Cloud backend", edit: (c) => (c.terraformCloud = { organization: "homelab", workspaces: { tags: ["pve"] } }), stacks: STACKS, plan: false },
];

const cases = variants.flatMap((v) => {
  const stacks = stacksOf(v.edit);
  return v.stacks.map((stack) => ({ label: `${v.name} / ${stack}`, json: stacks[stack], plan: v.plan }));
});

const available = terraformAvailable();

(available ? describe : describe.skip)("terraform validate and plan, against the providers' schemas", () => {
  // Concurrent tests start before beforeAll hooks run, so they share one started judge instead.
  let started: Promise<TerraformJudge> | undefined;
  const judgeOf = () => (started ??= TerraformJudge.start(cases.flatMap((c) => resourceTypes(c.json))));
  afterAll(async () => (await started)?.stop());

  it.concurrent.each(cases.map((c, i) => [c.label, c, i] as const))("accepts %s", async (_label, c, i) => {
    const judge = await judgeOf();
    const result = await judge.check(judge.stackDir(`case-${i}`, c.json), { plan: c.plan });
    if (!result.ok) throw new Error(`terraform ${result.failed} failed:\n${result.output}`);
    // A shard of a node without VMs has nothing to plan.
    if (c.plan) expect(result.output).toMatch(c.json.resource ? /Plan: \d+ to add, 0 to change, 0 to destroy\./ : /No changes\./);
  });

  it.concurrent("writes a rendered file's ${...}, %{...} and $${...} exactly as rendered (Terraform unescapes what the stack's literals aspect escaped)", async () => {
    const text = "a=${HOME} b=%{x} c=$${y} d=$$ e=%%{z} f=$\n";
    const app = Testing.app();
    const stack = new TerraformStack(app, "literal");
    Aspects.of(stack).add(new TerraformLiterals());
    new LocalProvider(stack, "local");
    new GeneratedFile(stack, "file", { directory: "out", name: "f.txt", content: text });
    const judge = await judgeOf();
    const planned = await judge.plannedValues(judge.stackDir("literal", JSON.parse(Testing.synth(stack))));
    expect(planned.root_module.resources[0].values.content).toBe(text);
  });

  describe("rejects a stack with", () => {
    const example = cases[1]!.json; // built-in example / vms
    const vm = () => Object.values<any>(example.resource.proxmox_virtual_environment_vm)[0];
    const mutated = (mutate: (stack: any, vm: any) => void) => {
      const copy = structuredClone(example);
      mutate(copy, Object.values<any>(copy.resource.proxmox_virtual_environment_vm)[0]);
      return copy;
    };
    const mutations: [string, (stack: any, vm: any) => void, RegExp][] = [
      ["an unknown attribute", (_s, v) => (v.cpu_cores = 4), /Extraneous JSON object property[\s\S]*No argument or block type is named "cpu_cores"/],
      // cdktf writes a block of at most one as an object, a list of blocks as an array.
      ["a wrong type", (_s, v) => (v.memory.dedicated = "lots"), /Inappropriate value for attribute "dedicated": a number is required/],
      ["a missing required attribute", (_s, v) => delete v.node_name, /The argument "node_name" is required/],
      ["too many blocks", (_s, v) => (v.agent = [v.agent, v.agent]), /No more than 1 "agent" blocks are allowed/],
      ["a network_device element missing keys", (_s, v) => delete v.network_device[0].trunks, /element 0: attribute\s+"trunks" is required/],
      ["a deprecated attribute (a warning fails the check)", (_s, v) => (v.timeout_move_disk = 1800), /Warning: Argument is deprecated[\s\S]*timeout_move_disk is deprecated/],
    ];

    it("the example it mutates is the VM stack", () => {
      expect(vm()).toHaveProperty("network_device");
    });

    it.concurrent("a VM shard that names a resource of another stack (the vms stack's security group): a shard refers to its groups by name only", async () => {
      const shard = cases.find((c) => c.label.endsWith("/ vms-pve2"))!.json;
      const copy = structuredClone(shard);
      const rules = Object.values<any>(copy.resource.proxmox_virtual_environment_firewall_rules)[0];
      const group = Object.keys(cases[1]!.json.resource.proxmox_virtual_environment_cluster_firewall_security_group)[1];
      rules.depends_on = [...rules.depends_on, `proxmox_virtual_environment_cluster_firewall_security_group.${group}`];
      const judge = await judgeOf();
      const result = await judge.check(judge.stackDir("mutant-shard", copy), { plan: false });
      expect(result.failed).toBe("validate");
      expect(result.output).toMatch(/Reference to undeclared resource[\s\S]*A managed resource\s+"proxmox_virtual_environment_cluster_firewall_security_group"\s+"firewall-worker_group_72A25495" has not been declared/);
    });

    // The cni stack with Cilium: hashicorp/helm's provider and helm_release (nested attributes only, 3.x).
    const cilium = cases.find((c) => c.label.startsWith("cilium: its Helm release"))!.json;
    const release = (stack: any) => Object.values<any>(stack.resource.helm_release)[0];
    const helmMutations: [string, (stack: any) => void, RegExp][] = [
      ["a misspelt helm_release attribute", (s) => ((release(s).timout = release(s).timeout), delete release(s).timeout), /Extraneous JSON object property[\s\S]*No argument or block type is named "timout"/],
      ["a helm_release without its chart", (s) => delete release(s).chart, /The argument "chart" is required/],
      ["helm_release values as one string instead of a list", (s) => (release(s).values = release(s).values[0]), /Inappropriate value for attribute "values": list of string required/],
      ["the helm provider's kubernetes as a block list (helm 2.x's form; 3.x has a nested attribute)", (s) => (s.provider.helm[0].kubernetes = [s.provider.helm[0].kubernetes]), /Inappropriate value for attribute "kubernetes": object required/],
    ];

    it("the Cilium stack it mutates has a helm_release", () => {
      expect(release(cilium)).toMatchObject({ chart: "cilium" });
    });

    it.concurrent.each(helmMutations.map(([label, mutate, message], i) => [label, mutate, message, i] as const))("%s", async (_label, mutate, message, i) => {
      const copy = structuredClone(cilium);
      mutate(copy);
      const judge = await judgeOf();
      const result = await judge.check(judge.stackDir(`mutant-helm-${i}`, copy), { plan: false });
      expect(result.failed).toBe("validate");
      expect(result.output).toMatch(message);
    });

    it.concurrent.each(mutations.map(([label, mutate, message], i) => [label, mutate, message, i] as const))("%s", async (_label, mutate, message, i) => {
      const judge = await judgeOf();
      const result = await judge.check(judge.stackDir(`mutant-${i}`, mutated(mutate)), { plan: false });
      expect(result.failed).toBe("validate");
      expect(result.output).toMatch(message);
    });
  });
});
