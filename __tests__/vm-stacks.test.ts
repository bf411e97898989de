/**
 * vmStacks: the node VMs in one `vms` stack (the default, unchanged byte for byte), or sharded by
 * Proxmox node into `vms-<node>` stacks after a `vms` stack that keeps what is cluster-wide. What
 * lands where, that every resource exists exactly once at the address it has in the single stack,
 * the order cdktf is told, each shard's own state, and the checks of the description.
 * Terraform judges the shards in terraform.test.ts; cdktf deploys them in deploy-commands.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { ClusterPlan } from "../config/plan";
import { synthesize } from "../stacks/synthesize";
import { issuesOf, planWith, resourcesOf, shardByNode, SHARDED_STACKS, tree } from "./helpers";
import { synthAll } from "./synth";

/** What `synthesize` (the app, `pve-dualnet synth`) writes for a plan: every file by path. */
function written(plan: ClusterPlan): Record<string, string> {
  const outdir = mkdtempSync(path.join(tmpdir(), "pvdn-vm-stacks-"));
  try {
    synthesize(plan, outdir);
    return tree(outdir);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Every resource of a stack as [address, arguments]. */
const resources = (stack: any): [string, any][] =>
  Object.entries<Record<string, any>>(stack.resource ?? {}).flatMap(([type, byName]) => Object.entries(byName).map(([name, body]): [string, any] => [`${type}.${name}`, body]));

const VM = "proxmox_virtual_environment_vm";
const vmNames = (stack: any) => resourcesOf(stack, VM).map((vm) => vm.name).sort();
const unsharded = (edit: (c: any) => void = () => {}) => (c: any) => (shardByNode(c), edit(c), (c.vmStacks.shardBy = "none"));
const sharded = (edit: (c: any) => void = () => {}) => (c: any) => (shardByNode(c), edit(c));

describe("the default: one vms stack", () => {
  it("is three stacks, as before", () => {
    expect(planWith().stacks.all).toEqual(["host-network", "vms", "cni"]);
    expect(Object.keys(synthAll(planWith()))).toEqual(["hostNetwork", "vms", "cni"]);
  });

  it("writes byte for byte what a description without vmStacks writes when shardBy: none is written out", () => {
    const plain = written(planWith());
    expect(Object.keys(plain).sort()).toEqual(["manifest.json", "stacks/cni/cdk.tf.json", "stacks/host-network/cdk.tf.json", "stacks/vms/cdk.tf.json"]);
    expect(written(planWith((c) => (c.vmStacks = { shardBy: "none" })))).toEqual(plain);
  });
});

describe("sharded by Proxmox node", () => {
  const plan = planWith(sharded());
  const stacks = synthAll(plan);
  const shards = SHARDED_STACKS.filter((id) => id.startsWith("vms-"));
  const single = synthAll(planWith(unsharded())).vms;

  it("has one stack per Proxmox node, vms-<node>, between vms and cni; a node without VMs has one too", () => {
    expect(plan.stacks.all).toEqual(SHARDED_STACKS);
    expect(plan.stacks.vmShards.map((s) => [s.id, s.node, s.vms.map((vm) => vm.name)])).toEqual([
      ["vms-pve", "pve", ["master-1", "master-2", "master-3"]],
      ["vms-pve2", "pve2", ["app-worker"]],
      ["vms-pve3", "pve3", []],
    ]);
    expect(Object.keys(stacks)).toEqual(["hostNetwork", "vms", "cni", ...shards]);
  });

  it("tells cdktf the order: host-network, vms, every shard after vms, cni after all of them", () => {
    const manifest = JSON.parse(written(plan)["manifest.json"]!);
    const dependencies = Object.fromEntries(Object.entries<any>(manifest.stacks).map(([id, s]) => [id, s.dependencies]));
    expect(dependencies).toEqual({
      "host-network": [],
      vms: ["host-network"],
      "vms-pve": ["vms"],
      "vms-pve2": ["vms"],
      "vms-pve3": ["vms"],
      cni: ["vms", "vms-pve", "vms-pve2", "vms-pve3"],
    });
  });

  it("puts each VM, with its firewall, in its node's stack and nowhere else", () => {
    expect(vmNames(stacks.vms)).toEqual([]);
    expect(vmNames(stacks["vms-pve"])).toEqual(["master-1", "master-2", "master-3"]);
    expect(vmNames(stacks["vms-pve2"])).toEqual(["app-worker"]);
    expect(stacks["vms-pve3"].resource).toBeUndefined();
    for (const id of shards) {
      const node = id.slice("vms-".length);
      for (const [address, body] of resources(stacks[id])) expect([address, body.node_name]).toEqual([address, node]);
    }
  });

  it("holds every resource of the single stack exactly once, at the same address, with the same arguments", () => {
    const all = [stacks.vms, ...shards.map((id) => stacks[id])].flatMap(resources);
    const addresses = all.map(([address]) => address);
    expect(new Set(addresses).size).toBe(addresses.length);
    expect([...addresses].sort()).toEqual(resources(single).map(([address]) => address).sort());
    const before = new Map(resources(single));
    for (const [address, body] of all) {
      const expected = structuredClone(before.get(address));
      // A shard's firewall cannot name the group's resource (another stack's): the order of the stacks keeps it first.
      if (address.startsWith("proxmox_virtual_environment_firewall_rules.")) expected.depends_on = expected.depends_on.filter((d: string) => !d.includes("security_group"));
      expect([address, body]).toEqual([address, expected]);
    }
  });

  it("keeps what is cluster-wide once, in vms: the security groups, the node setup files and node_ips", () => {
    expect(Object.keys(stacks.vms.resource).sort()).toEqual(["local_file", "proxmox_virtual_environment_cluster_firewall_security_group"]);
    expect(resourcesOf(stacks.vms, "local_file")).toEqual(resourcesOf(single, "local_file"));
    expect(stacks.vms.output).toEqual(single.output);
    for (const id of shards) {
      expect(stacks[id]).not.toHaveProperty("output");
      expect(Object.keys(stacks[id].provider)).toEqual(["proxmox"]);
    }
  });

  it("names the vms stack's security groups in the shards' firewalls, and refers to no resource of another stack", () => {
    const groups = resourcesOf(stacks.vms, "proxmox_virtual_environment_cluster_firewall_security_group").map((g) => g.name);
    expect(groups).toEqual(["k8s-detectviz-cp", "k8s-detectviz-wk"]);
    const used = shards.flatMap((id) => resourcesOf(stacks[id], "proxmox_virtual_environment_firewall_rules").map((r) => r.rule[0].security_group));
    expect(used).toEqual(["k8s-detectviz-cp", "k8s-detectviz-cp", "k8s-detectviz-cp", "k8s-detectviz-wk"]);
    for (const id of shards) {
      const declared = new Set(resources(stacks[id]).map(([address]) => address));
      const referenced = [...JSON.stringify(stacks[id].resource ?? {}).matchAll(/(proxmox_[a-z_]+\.[A-Za-z0-9_-]+)/g)].map((m) => m[1]!);
      for (const address of referenced) expect([id, address, declared.has(address)]).toEqual([id, address, true]);
    }
  });

  it("gives every stack its own state: a local file, or a Terraform Cloud workspace by prefix or by tags", () => {
    const files = written(plan);
    for (const id of SHARDED_STACKS) {
      const stack = JSON.parse(files[`stacks/${id}/cdk.tf.json`]!);
      expect([id, stack.terraform.backend]).toEqual([id, { local: { path: `../../../terraform.${id}.tfstate` } }]);
    }
    const byPrefix = synthAll(planWith(sharded((c) => (c.terraformCloud = { organization: "homelab" }))));
    expect(byPrefix["vms-pve2"].terraform.cloud.workspaces).toEqual({ name: "detectviz-vms-pve2" });
    expect(byPrefix.vms.terraform.cloud.workspaces).toEqual({ name: "detectviz-vms" });
    const byTags = synthAll(planWith(sharded((c) => (c.terraformCloud = { organization: "homelab", workspaces: { tags: ["pve"] } }))));
    expect(byTags["vms-pve3"].terraform.cloud.workspaces).toEqual({ tags: ["pve", "pve-dualnet-vms-pve3"] });
  });

  it("downloads a cloud image once per node, in that node's stack, at the single stack's address; snippets go with their VM", () => {
    const image = (c: any) => {
      c.vmDefaults.source = { image: { url: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img", fileName: "noble.qcow2" } };
      c.vmDefaults.cloudInit.networkData = { enabled: true };
    };
    const shardedImages = synthAll(planWith(sharded(image)));
    const singleImages = synthAll(planWith(unsharded(image))).vms;
    const downloads = (s: any) => Object.entries<any>(s.resource?.proxmox_download_file ?? {}).map(([name, d]) => [name, d.node_name]);
    expect(downloads(singleImages)).toHaveLength(2);
    expect(downloads(shardedImages["vms-pve"])).toEqual(downloads(singleImages).filter(([, node]) => node === "pve"));
    expect(downloads(shardedImages["vms-pve2"])).toEqual(downloads(singleImages).filter(([, node]) => node === "pve2"));
    expect(downloads(shardedImages.vms)).toEqual([]);
    const snippets = (s: any) => resourcesOf(s, "proxmox_virtual_environment_file").map((f) => f.source_raw.file_name);
    expect(snippets(shardedImages["vms-pve2"])).toEqual(["pve-dualnet-app-worker-network.yaml"]);
  });

  it("leaves the security groups out of every stack when the firewall is off", () => {
    const off = synthAll(planWith(sharded((c) => (c.firewall = { enabled: false }))));
    expect(Object.keys(off.vms.resource)).toEqual(["local_file"]);
    expect(Object.keys(off["vms-pve"].resource)).toEqual([VM]);
  });
});

describe("sharded, with Proxmox HA", () => {
  /** A control plane on each of the three nodes, the worker beside master-2, HA on. */
  const spread = (version: 8 | 9) => (c: any) => {
    ["pve", "pve2", "pve3"].forEach((node, i) => (c.vms[i].node = node));
    c.proxmox.ha = { enabled: true };
    c.proxmox.version = version;
  };
  const ha = ["proxmox_haresource", "proxmox_harule", "proxmox_hagroup"];
  const haResources = (stack: any) => resources(stack).filter(([address]) => ha.some((type) => address.startsWith(`${type}.`)));

  describe.each([9, 8] as const)("Proxmox VE %i", (version) => {
    const plan = planWith(sharded(spread(version)));
    const stacks = synthAll(plan);
    const single = synthAll(planWith(unsharded(spread(version)))).vms;
    const ids = plan.stacks.all.filter((id) => id.startsWith("vms-") || id === "vms_ha");

    it(version === 9 ? "adds vms_ha after every shard, before cni: the rule that names control planes of several shards" : "needs no stack of its own: VE 8 has no rules, each node's group goes with its shard", () => {
      expect(plan.stacks.all).toEqual(["host-network", "vms", "vms-pve", "vms-pve2", "vms-pve3", ...(version === 9 ? ["vms_ha"] : []), "cni"]);
      const manifest = JSON.parse(written(plan)["manifest.json"]!);
      const dependencies = Object.fromEntries(Object.entries<any>(manifest.stacks).map(([id, s]) => [id, s.dependencies]));
      if (version === 9) expect(dependencies.vms_ha).toEqual(["vms-pve", "vms-pve2", "vms-pve3"]);
      expect(dependencies.cni).toEqual(["vms", "vms-pve", "vms-pve2", "vms-pve3", ...(version === 9 ? ["vms_ha"] : [])]);
    });

    it("holds every HA resource, rule and group of the single stack exactly once, at its address, each VM's with the VM", () => {
      const all = ids.flatMap((id) => haResources(stacks[id]));
      const addresses = all.map(([address]) => address);
      expect(new Set(addresses).size).toBe(addresses.length);
      expect([...addresses].sort()).toEqual(haResources(single).map(([address]) => address).sort());
      const before = new Map(haResources(single));
      for (const [address, body] of all) {
        const expected = structuredClone(before.get(address));
        // The rule of several shards names their HA resources by id; the stack order puts them first.
        if (address.includes("control-planes-apart")) delete expected.depends_on;
        expect([address, body]).toEqual([address, expected]);
      }
      // Each shard's HA resources are its own VMs'.
      for (const id of ids.filter((i) => i !== "vms_ha")) {
        const vmIds = resourcesOf(stacks[id], VM).map((vm) => `vm:${vm.vm_id}`).sort();
        expect([id, resourcesOf(stacks[id], "proxmox_haresource").map((r) => r.resource_id).sort()]).toEqual([id, vmIds]);
      }
    });

    if (version === 9) {
      it("puts only the control planes' rule in vms_ha, referring to no resource of another stack", () => {
        expect(resources(stacks.vms_ha).map(([address, body]) => [address.split(".")[0], body.type, body.resources])).toEqual([["proxmox_harule", "resource-affinity", ["vm:111", "vm:112", "vm:113"]]]);
        expect(JSON.stringify(stacks.vms_ha.resource)).not.toMatch(/proxmox_(haresource|virtual_environment_vm)\./);
        expect(Object.keys(stacks.vms_ha.provider)).toEqual(["proxmox"]);
      });
    }
  });
});

describe("checks of a sharded description", () => {

  it("asks a VM without a node to name it, with where it is placed now", () => {
    const issues = issuesOf(sharded((c) => delete c.vms[3].node));
    expect(issues).toEqual([
      {
        path: "vms[3].node",
        message: expect.stringMatching(/^must name the VM's Proxmox node when vmStacks.shardBy is node: placed by its position in vms, a VM can move to another node, and so to another stack/),
        fix: "add node: pve2 (where it is placed now)",
      },
    ]);
  });

  it("does not ask it when every VM names its node, nor without shards (the check can pass)", () => {
    expect(() => planWith(sharded())).not.toThrow();
    expect(() => planWith(unsharded((c) => c.vms.forEach((vm: any) => delete vm.node)))).not.toThrow();
  });

  it("refuses a Terraform Cloud workspace name over 90 characters, naming the node whose stack has it", () => {
    const long = (nodeName: string) =>
      sharded((c) => {
        c.proxmox.nodes[2].name = nodeName;
        c.terraformCloud = { organization: "homelab", workspaces: { prefix: "p".repeat(30) } };
      });
    const issues = issuesOf(long("n".repeat(57)));
    expect(issues).toEqual([
      {
        path: "proxmox.nodes[2].name",
        message: `the workspace of stack vms-${"n".repeat(57)}, ${"p".repeat(30)}vms-${"n".repeat(57)}, is 91 characters long: Terraform Cloud allows at most 90`,
        fix: "shorten the node's name or terraformCloud.workspaces.prefix",
      },
    ]);
    // 90 is allowed: the check can pass.
    expect(() => planWith(long("n".repeat(56)))).not.toThrow();
  });

  it("refuses a prefix that makes any stack's workspace name too long, sharded or not", () => {
    const issues = issuesOf((c) => (c.terraformCloud = { organization: "homelab", workspaces: { prefix: "p".repeat(80) } }));
    expect(issues.map((i) => [i.path, i.message.replace(/, p+/, ", <prefix>")])).toEqual([
      ["terraformCloud.workspaces.prefix", "the workspace of stack host-network, <prefix>host-network, is 92 characters long: Terraform Cloud allows at most 90"],
    ]);
  });
});
