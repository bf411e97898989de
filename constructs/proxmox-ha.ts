import { Construct } from "constructs";
import type { ITerraformDependable } from "cdktf";
import { Hagroup } from "../.gen/providers/proxmox/hagroup";
import { Haresource } from "../.gen/providers/proxmox/haresource";
import { Harule } from "../.gen/providers/proxmox/harule";
import type { HaPlan } from "../config/plan";

export interface ProxmoxHaProps {
  /** Every id, node and rule, from the plan (config/plan.ts, planHa). */
  readonly ha: HaPlan;
  /**
   * The VM resource of each VM whose HA resource this construct makes, by VM name: an HA
   * resource needs its VM to exist. A rule naming resources of another stack (`vms_ha`, with
   * shards) relies on the stack order instead.
   */
  readonly vms: ReadonlyMap<string, ITerraformDependable>;
}

/**
 * Proxmox HA for the node VMs: one HA resource per VM (state started), placed as planned. On
 * Proxmox VE 9 by HA rules: a node-affinity rule per VM (its planned node, not strict: HA may
 * recover it elsewhere, and brings it back when the node returns) and one negative
 * resource-affinity rule keeping the control planes apart. On Proxmox VE 8, which has no rules,
 * by HA groups: a control plane restricted to its node, a worker preferring its own.
 *
 * Every resource belongs to one VM (or, the anti-affinity rule, to the control planes, and a
 * group to a node): adding or removing a worker adds or removes only its own.
 */
export class ProxmoxHa extends Construct {
  constructor(scope: Construct, id: string, props: ProxmoxHaProps) {
    super(scope, id);
    const { ha } = props;
    const groups = new Map(ha.groups.map((g) => [g.group, new Hagroup(this, `group-${g.node}${g.restricted ? "-only" : ""}`, { group: g.group, nodes: { [g.node]: 1 }, restricted: g.restricted, noFailback: false, comment: g.comment })]));
    const resources = new Map(
      ha.resources.map((r) => [
        r.vm,
        new Haresource(this, `resource-${r.vm}`, {
          resourceId: r.resource,
          state: "started",
          comment: r.comment,
          ...(r.group ? { group: r.group } : {}),
          dependsOn: [props.vms.get(r.vm)!, ...(r.group ? [groups.get(r.group)!] : [])],
        }),
      ]),
    );
    for (const rule of ha.nodeAffinity) {
      new Harule(this, `node-affinity-${rule.vm}`, {
        rule: rule.rule,
        type: "node-affinity",
        resources: [rule.resource],
        nodes: { [rule.node]: 1 },
        strict: false,
        comment: rule.comment,
        dependsOn: [resources.get(rule.vm)!],
      });
    }
    const apart = ha.controlPlanesApart;
    if (apart) {
      const after = apart.vms.flatMap((vm) => resources.get(vm) ?? []);
      new Harule(this, "control-planes-apart", {
        rule: apart.rule,
        type: "resource-affinity",
        affinity: "negative",
        resources: [...apart.resources],
        comment: apart.comment,
        dependsOn: after.length ? after : undefined,
      });
    }
  }
}
