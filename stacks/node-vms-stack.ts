import { LocalProvider } from "@cdktf/provider-local/lib/provider";
import { TerraformOutput, type TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { ProxmoxProvider } from "../.gen/providers/proxmox/provider";
import { imageFileName, type ClusterPlan, type VmPlan, type VmShardPlan } from "../config/plan";
import { CloudImage } from "../constructs/cloud-image";
import { KubernetesNodeVm } from "../constructs/kubernetes-node-vm";
import { NetworkDataSnippet } from "../constructs/network-data-snippet";
import { NodeSetupFiles } from "../constructs/node-setup-files";
import { ProxmoxHa } from "../constructs/proxmox-ha";
import { FirewallSecurityGroup } from "../constructs/firewall-security-group";
import { VmFirewall, type SecurityGroupRef } from "../constructs/vm-firewall";
import { renderNetworkData } from "../renderers/cloud-init";
import { firewallRules, rolesOf, securityGroupName } from "../renderers/firewall";
import { outputDirectory } from "./paths";
import { PveDualnetStack } from "./pve-dualnet-stack";

export interface NodeVmsStackProps {
  readonly plan: ClusterPlan;
  /** Stacks that must be deployed first (the host network). Default: none. */
  readonly after?: readonly TerraformStack[];
}

/**
 * Step 2 of the build order: the Kubernetes node VMs with their Proxmox firewalls (and, with
 * proxmox.ha, their Proxmox HA resources and rules), their IPs as outputs, and the files of
 * step 3 (the node setup playbook with its inventory and variables).
 * With shards (vmStacks.shardBy: node) it keeps only what is cluster-wide: the security groups
 * (one Proxmox datacenter object each, so one owner), the node setup files of the whole
 * inventory and the node_ips output; each NodeVmsShardStack, deployed after it, holds the VMs.
 *
 * Credentials: the provider block holds only the endpoint; the API token and SSH settings
 * come from PROXMOX_VE_API_TOKEN, PROXMOX_VE_SSH_* in the environment.
 */
export class NodeVmsStack extends PveDualnetStack {
  /** The VMs of this stack: every VM, or none when shards hold them. */
  readonly vms: readonly KubernetesNodeVm[];

  constructor(scope: Construct, id: string, props: NodeVmsStackProps) {
    super(scope, id, props.plan.config);
    const { plan } = props;
    const { config } = plan;
    for (const stack of props.after ?? []) this.addDependency(stack);

    new ProxmoxProvider(this, "proxmox", { endpoint: config.proxmox.endpoint, insecure: config.proxmox.insecure });
    new LocalProvider(this, "local");

    // One security group per role holds the rules; every VM's firewall uses its role's group.
    const groups = new Map(
      config.firewall.enabled
        ? rolesOf(plan).map((role) => [
            role,
            new FirewallSecurityGroup(this, `firewall-${role}`, { name: securityGroupName(plan, role), comment: `Kubernetes ${role} nodes of ${config.name} (pve-dualnet)`, rules: firewallRules(plan, role) }),
          ])
        : [],
    );

    this.vms = plan.stacks.vmShards.length ? [] : addNodeVms(this, plan, plan.vms, groups);

    // With shards, each shard holds its VMs' part and `vms_ha` the rule of all.
    if (plan.ha && !plan.stacks.vmShards.length) new ProxmoxHa(this, "ha", { ha: plan.ha, vms: new Map(plan.vms.map((vm, i) => [vm.name, this.vms[i]!.resource])) });

    new NodeSetupFiles(this, "node-setup", { plan, directory: `${outputDirectory(config.output.directory)}/ansible` });

    new TerraformOutput(this, "node_ips", {
      description: "External (SSH, apps) and internal (Kubernetes) address of every node VM",
      value: Object.fromEntries(plan.vms.map((vm) => [vm.name, { external: vm.nics[0].ip, internal: vm.nics[1].ip, role: vm.role, node: vm.node }])),
    });
  }
}

export interface NodeVmsShardStackProps {
  readonly plan: ClusterPlan;
  /** The Proxmox node and its VMs. */
  readonly shard: VmShardPlan;
  /** Stacks that must be deployed first: the `vms` stack, which holds the security groups. */
  readonly after: readonly TerraformStack[];
}

/**
 * Step 2, one Proxmox node's part (vmStacks.shardBy: node): that node's VMs, their firewalls,
 * network-data snippets and cloud images. The firewalls name the security groups of the `vms`
 * stack, which is deployed first (and destroyed last). Every resource has the address it has in
 * the single `vms` stack, so moving a cluster between the two layouts is a `terraform state mv`
 * of unchanged addresses (docs/build.md).
 */
export class NodeVmsShardStack extends PveDualnetStack {
  readonly vms: readonly KubernetesNodeVm[];

  constructor(scope: Construct, id: string, props: NodeVmsShardStackProps) {
    super(scope, id, props.plan.config);
    const { plan, shard } = props;
    const { config } = plan;
    for (const stack of props.after) this.addDependency(stack);

    new ProxmoxProvider(this, "proxmox", { endpoint: config.proxmox.endpoint, insecure: config.proxmox.insecure });

    // The groups by name only: another stack owns them, and the stack order puts them first.
    const groups = new Map(config.firewall.enabled ? rolesOf(plan).map((role) => [role, { name: securityGroupName(plan, role) }]) : []);
    this.vms = addNodeVms(this, plan, shard.vms, groups);
    // The node's VMs' HA resources and rules, with the addresses they have in the single `vms` stack.
    if (shard.ha) new ProxmoxHa(this, "ha", { ha: shard.ha, vms: new Map(shard.vms.map((vm, i) => [vm.name, this.vms[i]!.resource])) });
  }
}

export interface HaRulesStackProps {
  readonly plan: ClusterPlan;
  /** The stacks that must be deployed first: every shard, whose HA resources the rules name. */
  readonly after: readonly TerraformStack[];
}

/**
 * Step 2's last part, with shards and Proxmox HA on VE 9 (StacksPlan.haRules): the HA rule that
 * names VMs of several shards, the control planes kept apart. Proxmox refuses a rule naming a
 * resource HA does not manage yet, so it comes after every shard; a shard that deletes a
 * control plane's HA resource takes it out of the rule (Proxmox's delete purges it), and the next
 * deploy of this stack writes the rule of the description again.
 */
export class HaRulesStack extends PveDualnetStack {
  constructor(scope: Construct, id: string, props: HaRulesStackProps) {
    super(scope, id, props.plan.config);
    const { plan } = props;
    for (const stack of props.after) this.addDependency(stack);
    new ProxmoxProvider(this, "proxmox", { endpoint: plan.config.proxmox.endpoint, insecure: plan.config.proxmox.insecure });
    new ProxmoxHa(this, "ha", { ha: plan.stacks.haRules!.ha, vms: new Map() });
  }
}

/**
 * Adds `vms` to `stack`: each VM, its firewall, its network-data snippet, and one cloud image
 * download per Proxmox node and image (local storage is per node). Construct ids (and so the
 * Terraform addresses) depend only on the VM, and on the image's place among all of the plan's
 * images, never on which stack holds them.
 */
function addNodeVms(stack: TerraformStack, plan: ClusterPlan, vms: readonly VmPlan[], groups: ReadonlyMap<VmPlan["role"], SecurityGroupRef>): KubernetesNodeVm[] {
  const imageKey = (node: string, image: { datastore: string; url: string; fileName?: string }) => `${node} ${image.datastore} ${imageFileName(image)}`;
  // Numbered in the order the VMs of the whole plan first need them.
  const imageNumbers = new Map<string, number>();
  for (const vm of plan.vms) {
    if (!("image" in vm.source)) continue;
    const key = imageKey(vm.node, vm.source.image);
    if (!imageNumbers.has(key)) imageNumbers.set(key, imageNumbers.size);
  }
  const images = new Map<string, CloudImage>();
  const imageFor = (node: string, source: VmPlan["source"]) => {
    if (!("image" in source)) return undefined;
    const { url, datastore, checksum } = source.image;
    const fileName = imageFileName(source.image);
    const key = imageKey(node, source.image);
    if (!images.has(key)) {
      images.set(key, new CloudImage(stack, `image-${node}-${imageNumbers.get(key)}`, { node, url, datastore, fileName, checksum }));
    }
    return images.get(key)!;
  };

  return vms.map((vm) => {
    const networkData = vm.cloudInit.networkData;
    const snippet = networkData.enabled
      ? new NetworkDataSnippet(stack, `network-data-${vm.name}`, {
          node: vm.node,
          datastore: networkData.datastore,
          fileName: `pve-dualnet-${vm.name}-network.yaml`,
          content: renderNetworkData(vm, plan.dns),
        })
      : undefined;
    const node = new KubernetesNodeVm(stack, `vm-${vm.name}`, {
      vm,
      dns: { servers: plan.dns.servers, domain: plan.dns.searchDomain },
      sshKeys: plan.sshKeys,
      image: imageFor(vm.node, vm.source),
      networkData: snippet,
    });
    const securityGroup = groups.get(vm.role);
    if (securityGroup) new VmFirewall(stack, `firewall-${vm.name}`, { vm, securityGroup, vmResource: node.resource });
    return node;
  });
}
