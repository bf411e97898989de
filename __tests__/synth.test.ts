/**
 * synth.ts's synthJson, which the tests synthesize stacks with, is cdktf's Testing.synth parsed:
 * the same JSON, key order included, for every stack of descriptions that use most constructs.
 */
import { Testing } from "cdktf";
import { buildStacks } from "../stacks";
import { dualStack, planWith, shardByNode } from "./helpers";
import { synthJson } from "./synth";

/** Every stack of a plan, built in an app of its own: name -> stack. */
function stacksOf(plan: ReturnType<typeof planWith>) {
  const { vmShards, haRules, ...stacks } = buildStacks(Testing.app(), plan);
  return [...Object.entries(stacks), ...[...vmShards, ...(haRules ? [haRules] : [])].map((s) => [s.node.id, s] as const)];
}

describe("synthJson", () => {
  it.each([
    ["the example", planWith()],
    [
      "sharded by node with Proxmox HA, cloud images, network data, dual-stack, Cilium and a LoadBalancer pool, Terraform Cloud",
      planWith((c) => {
        shardByNode(c);
        ["pve", "pve2", "pve3"].forEach((node, i) => (c.vms[i].node = node));
        dualStack(c);
        c.proxmox.ha = { enabled: true };
        c.vmDefaults.source = { image: { url: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img", fileName: "noble.qcow2" } };
        c.vmDefaults.cloudInit.networkData = { enabled: true };
        c.kubernetes.cni = { plugin: "cilium", cilium: { kubeProxyReplacement: true, hubble: true } };
        c.kubernetes.loadBalancer = { addresses: ["192.168.0.200"] };
        c.terraformCloud = { organization: "homelab" };
      }),
    ],
    ["Calico", planWith((c) => (c.kubernetes.cni = { plugin: "calico" }))],
  ])("is JSON.parse(Testing.synth(stack)), key order included: %s", (_name, plan) => {
    const ours = stacksOf(plan).map(([name, stack]) => [name, JSON.stringify(synthJson(stack))]);
    const cdktf = stacksOf(plan).map(([name, stack]) => [name, JSON.stringify(JSON.parse(Testing.synth(stack)))]);
    expect(ours.length).toBeGreaterThanOrEqual(3);
    expect(ours).toEqual(cdktf);
  });
});
