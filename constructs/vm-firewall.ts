import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { VirtualEnvironmentFirewallOptions, type VirtualEnvironmentFirewallOptionsConfig } from "../.gen/providers/proxmox/virtual-environment-firewall-options";
import { VirtualEnvironmentFirewallRules, type VirtualEnvironmentFirewallRulesConfig } from "../.gen/providers/proxmox/virtual-environment-firewall-rules";
import type { VmPlan } from "../config/plan";
import { fastSynth } from "../patches/cdktf-fast-synth";
import { PlainResource, type PlainSpec } from "./plain-resource";

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
  /** The bindings, or with the fast synth their plain JSON (constructs/plain-resource.ts). */
  readonly options: ITerraformDependable;
  readonly rules: ITerraformDependable;

  constructor(scope: Construct, id: string, props: VmFirewallProps) {
    super(scope, id);
    const { vm, securityGroup } = props;
    const options: VirtualEnvironmentFirewallOptionsConfig = {
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
    };
    const rules: VirtualEnvironmentFirewallRulesConfig = {
      nodeName: vm.node,
      vmId: vm.id,
      rule: [{ securityGroup: securityGroup.name, comment: `Kubernetes ${vm.role} (pve-dualnet)` }],
      // The group exists before a VM uses it, and is removed only after no VM does.
      dependsOn: securityGroup.resource ? [props.vmResource, securityGroup.resource] : [props.vmResource],
    };
    const fast = fastSynth();
    this.options = fast
      ? new PlainResource(this, "options", { type: "proxmox_virtual_environment_firewall_options", config: options, spec: OPTIONS_SPEC })
      : new VirtualEnvironmentFirewallOptions(this, "options", options);
    this.rules = fast
      ? new PlainResource(this, "rules", { type: "proxmox_virtual_environment_firewall_rules", config: rules, spec: RULES_SPEC })
      : new VirtualEnvironmentFirewallRules(this, "rules", rules);
  }
}

/**
 * The Terraform names of what VmFirewall sets, as the bindings write them
 * (.gen/providers/proxmox/virtual-environment-firewall-{options,rules}), for the fast synth.
 */
const OPTIONS_SPEC: PlainSpec = {
  nodeName: "node_name",
  vmId: "vm_id",
  enabled: "enabled",
  inputPolicy: "input_policy",
  outputPolicy: "output_policy",
  macfilter: "macfilter",
  ipfilter: "ipfilter",
  dhcp: "dhcp",
  ndp: "ndp",
  radv: "radv",
  logLevelIn: "log_level_in",
  logLevelOut: "log_level_out",
};
const RULES_SPEC: PlainSpec = {
  nodeName: "node_name",
  vmId: "vm_id",
  rule: ["rule", { securityGroup: "security_group", comment: "comment" }, "list"],
};
