import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { VirtualEnvironmentFirewallOptions } from "../.gen/providers/proxmox/virtual-environment-firewall-options";
import { VirtualEnvironmentFirewallRules } from "../.gen/providers/proxmox/virtual-environment-firewall-rules";
import type { VmPlan } from "../config/plan";
import type { FirewallRule } from "../renderers/firewall";

export interface VmFirewallProps {
  /** The VM the firewall belongs to. */
  readonly vm: VmPlan;
  /** Its inbound rules (renderers/firewall.ts). */
  readonly rules: readonly FirewallRule[];
  /** The VM resource: the firewall is configured once the VM exists. */
  readonly vmResource: ITerraformDependable;
}

/**
 * The Proxmox firewall of one VM: enabled, inbound DROP unless a rule accepts, outbound ACCEPT.
 * The MAC filter stays on (kube-vip announces the VIP with the NIC's own MAC); the IP filter
 * stays off, or packets for the VIP would be dropped. The VM's NICs carry `firewall: true`.
 */
export class VmFirewall extends Construct {
  readonly options: VirtualEnvironmentFirewallOptions;
  readonly rules: VirtualEnvironmentFirewallRules;

  constructor(scope: Construct, id: string, props: VmFirewallProps) {
    super(scope, id);
    const { vm } = props;
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
      rule: props.rules.map((r) => ({
        type: "in",
        action: "ACCEPT",
        proto: r.proto,
        dport: r.dport,
        source: r.source,
        iface: r.iface,
        comment: r.comment,
      })),
      dependsOn: [props.vmResource],
    });
  }
}
