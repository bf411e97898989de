import { Construct } from "constructs";
import { VirtualEnvironmentClusterFirewallSecurityGroup } from "../.gen/providers/proxmox/virtual-environment-cluster-firewall-security-group";
import type { FirewallRule } from "../renderers/firewall";

export interface FirewallSecurityGroupProps {
  /** The group's name: [A-Za-z][A-Za-z0-9_-]+, at most 18 characters (renderers/firewall.ts). */
  readonly name: string;
  /** Shown in the Proxmox GUI. */
  readonly comment: string;
  /** Its inbound rules (renderers/firewall.ts). */
  readonly rules: readonly FirewallRule[];
}

/**
 * A Proxmox security group (datacenter level) holding the inbound rules of one Kubernetes role.
 * A group does nothing by itself: it acts on the VMs whose firewall uses it (VmFirewall), and
 * the datacenter's own options and rules stay as they are. One group per role, not the rules
 * copied into every VM: a rule change is one change in the plan, whatever the size of the cluster.
 */
export class FirewallSecurityGroup extends Construct {
  readonly resource: VirtualEnvironmentClusterFirewallSecurityGroup;
  readonly name: string;

  constructor(scope: Construct, id: string, props: FirewallSecurityGroupProps) {
    super(scope, id);
    this.name = props.name;
    this.resource = new VirtualEnvironmentClusterFirewallSecurityGroup(this, "group", {
      name: props.name,
      comment: props.comment,
      rule: props.rules.map((r) => ({
        type: "in",
        action: "ACCEPT",
        proto: r.proto,
        dport: r.dport,
        source: r.source,
        dest: r.dest,
        iface: r.iface,
        comment: r.comment,
      })),
    });
  }
}
