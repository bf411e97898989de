import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { VirtualEnvironmentFirewallOptions } from "../.gen/providers/proxmox/virtual-environment-firewall-options";
import { VirtualEnvironmentFirewallRules } from "../.gen/providers/proxmox/virtual-environment-firewall-rules";
import type { VmPlan } from "../config/plan";

/** A security group a VM's firewall uses: its name, and its resource when the same stack holds it. */
export interface SecurityGroupRef {
  readonly name: string;
  /** Absent when another stack owns the group: that stack is deployed first and destroyed last. */
  readonly resource?: ITerraformDependable;
}

export interface VmFirewallProps {
  /** The VM the firewall belongs to. */
  readonly vm: VmPlan;
  /** The security group with the rules of the VM's role (a FirewallSecurityGroup, or one in another stack). */
  readonly securityGroup: SecurityGroupRef;
  /** The VM resource: the firewall is configured once the VM exists. */
  readonly vmResource: ITerraformDependable;
}

/**
 * The Proxmox firewall of one VM: enabled, inbound DROP unless a rule of its role's security
 * group accepts, outbound ACCEPT. The MAC filter stays on (kube-vip announces the VIP with the
 * NIC's own MAC); the IP filter stays off, or packets for the VIP would be dropped. The VM's NICs
 * carry `firewall: true`.
 */
export class VmFirewall extends Construct {
  readonly options: VirtualEnvironmentFirewallOptions;
  readonly rules: VirtualEnvironmentFirewallRules;

  constructor(scope: Construct, id: string, props: VmFirewallProps) {
    super(scope, id);
    const { vm, securityGroup } = props;
    this.options = new VirtualEnvironmentFirewallOptions(this, "options", {
      nodeName: vm.node,
      vmId: vm.id,
      enabled: true,
      inputPolicy: "DROP",
      outputPolicy: "ACCEPT",
      macfilter: true,
      ipfilter: false,
      dhcp: false,
      ndp: true,
      radv: false,
      logLevelIn: "nolog",
      logLevelOut: "nolog",
      dependsOn: [props.vmResource],
    });
    this.rules = new VirtualEnvironmentFirewallRules(this, "rules", {
      nodeName: vm.node,
      vmId: vm.id,
      rule: [{ securityGroup: securityGroup.name, comment: `Kubernetes ${vm.role} (pve-dualnet)` }],
      // The group exists before a VM uses it, and is removed only after no VM does.
      dependsOn: securityGroup.resource ? [props.vmResource, securityGroup.resource] : [props.vmResource],
    });
  }
}
