/**
 * synth.ts's synthAll, which the tests synthesize stacks with, reads what the app's synth writes:
 * it is cdktf's Testing.synth parsed, the same JSON, key order included, for every stack of
 * descriptions that use most constructs. It synthesizes a plan once per test file.
 */
import { Testing } from "cdktf";
import { buildStacks } from "../stacks";
import { dualStack, planWith, shardByNode } from "./helpers";
import { synthAll, synthesizedStacks } from "./synth";

/** JSON.parse(Testing.synth(stack)) of every stack of a plan, built in an app of its own: name -> its JSON text. */
function testingSynth(plan: ReturnType<typeof planWith>): [string, string][] {
  const { vmShards, haRules, ...stacks } = buildStacks(Testing.app(), plan);
  return [...Object.entries(stacks), ...[...vmShards, ...(haRules ? [haRules] : [])].map((s) => [s.node.id, s] as const)].map(([name, stack]) => [
    name,
    JSON.stringify(JSON.parse(Testing.synth(stack))),
  ]);
}

describe("synthAll", () => {
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
  ])("is JSON.parse(Testing.synth(stack)) of every stack, key order included: %s", (_name, plan) => {
    const ours = Object.entries(synthAll(plan)).map(([name, json]) => [name, JSON.stringify(json)]);
    const cdktf = testingSynth(plan);
    expect(ours.length).toBeGreaterThanOrEqual(3);
    expect(ours).toEqual(cdktf);
  });

  it("synthesizes a plan once per test file, and hands each caller a copy of its own", () => {
    const plan = planWith((c) => (c.vms[3].memory = 12288));
    const first = synthAll(plan);
    first.vms.resource = "changed by a caller";
    const again = synthAll(planWith((c) => (c.vms[3].memory = 12288)));
    expect(again.vms.resource).not.toBe("changed by a caller");
    expect(again).toEqual(synthAll(plan, { fresh: true }));
    // Another plan is another synth.
    expect(JSON.stringify(synthAll(planWith((c) => (c.vms[3].memory = 16384))).vms)).not.toBe(JSON.stringify(again.vms));
    const stacks = synthesizedStacks(plan) as Record<string, any>;
    stacks.vms.resource = "changed by a caller";
    expect((synthesizedStacks(plan) as Record<string, any>).vms.resource).toHaveProperty("proxmox_virtual_environment_vm");
  });
});
