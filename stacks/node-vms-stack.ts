import { LocalProvider } from "@cdktf/provider-local/lib/provider";
import { TerraformOutput, type TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { ProxmoxProvider } from "../.gen/providers/proxmox/provider";
import { imageFileName, type ClusterPlan } from "../config/plan";
import { CloudImage } from "../constructs/cloud-image";
import { KubernetesNodeVm } from "../constructs/kubernetes-node-vm";
import { NetworkDataSnippet } from "../constructs/network-data-snippet";
import { NodeSetupFiles } from "../constructs/node-setup-files";
import { ProxmoxHa } from "../constructs/proxmox-ha";
import { FirewallSecurityGroup } from "../constructs/firewall-security-group";
import { VmFirewall } from "../constructs/vm-firewall";
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
 *
 * Credentials: the provider block holds only the endpoint; the API token and SSH settings
 * come from PROXMOX_VE_API_TOKEN, PROXMOX_VE_SSH_* in the environment.
 */
export class NodeVmsStack extends PveDualnetStack {
  readonly vms: readonly KubernetesNodeVm[];

  constructor(scope: Construct, id: string, props: NodeVmsStackProps) {
    super(scope, id, props.plan.config);
    const { plan } = props;
    const { config } = plan;
    for (const stack of props.after ?? []) this.addDependency(stack);

    new ProxmoxProvider(this, "proxmox", { endpoint: config.proxmox.endpoint, insecure: config.proxmox.insecure });
    new LocalProvider(this, "local");

    // One download per Proxmox node and image: local storage is per node.
    const images = new Map<string, CloudImage>();
    const imageFor = (node: string, source: (typeof plan.vms)[number]["source"]) => {
      if (!("image" in source)) return undefined;
      const { url, datastore, checksum } = source.image;
      const fileName = imageFileName(source.image);
      const key = `${node} ${datastore} ${fileName}`;
      if (!images.has(key)) {
        images.set(key, new CloudImage(this, `image-${node}-${images.size}`, { node, url, datastore, fileName, checksum }));
      }
      return images.get(key)!;
    };

    // One security group per role holds the rules; every VM's firewall uses its role's group.
    const groups = new Map(
      config.firewall.enabled
        ? rolesOf(plan).map((role) => [
            role,
            new FirewallSecurityGroup(this, `firewall-${role}`, { name: securityGroupName(plan, role), comment: `Kubernetes ${role} nodes of ${config.name} (pve-dualnet)`, rules: firewallRules(plan, role) }),
          ])
        : [],
    );

    const networkData = config.vmDefaults.cloudInit.networkData;
    this.vms = plan.vms.map((vm) => {
      const snippet = networkData.enabled
        ? new NetworkDataSnippet(this, `network-data-${vm.name}`, {
            node: vm.node,
            datastore: networkData.datastore,
            fileName: `pve-dualnet-${vm.name}-network.yaml`,
            content: renderNetworkData(vm, config.networks),
          })
        : undefined;
      const node = new KubernetesNodeVm(this, `vm-${vm.name}`, {
        vm,
        dns: { servers: config.networks.external.dns, domain: config.networks.external.searchDomain },
        sshKeys: plan.sshKeys,
        image: imageFor(vm.node, vm.source),
        networkData: snippet,
      });
      const securityGroup = groups.get(vm.role);
      if (securityGroup) new VmFirewall(this, `firewall-${vm.name}`, { vm, securityGroup, vmResource: node.resource });
      return node;
    });

    if (plan.ha) new ProxmoxHa(this, "ha", { ha: plan.ha, vms: new Map(plan.vms.map((vm, i) => [vm.name, this.vms[i]!.resource])) });

    new NodeSetupFiles(this, "node-setup", { plan, directory: `${outputDirectory(config.output.directory)}/ansible` });

    new TerraformOutput(this, "node_ips", {
      description: "External (SSH, apps) and internal (Kubernetes) address of every node VM",
      value: Object.fromEntries(plan.vms.map((vm) => [vm.name, { external: vm.nics[0].ip, internal: vm.nics[1].ip, role: vm.role, node: vm.node }])),
    });
  }
}
