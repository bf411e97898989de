import type { App } from "cdktf";
import type { ClusterPlan } from "../config/plan";
import { CniStack } from "./cni-stack";
import { HostNetworkStack } from "./host-network-stack";
import { HaRulesStack, NodeVmsShardStack, NodeVmsStack } from "./node-vms-stack";

/**
 * The stacks of one cluster, in build order: host network -> VMs -> (node setup) -> CNI. With
 * vmStacks.shardBy: node, the VMs are in one stack per Proxmox node, after the `vms` stack
 * (cluster-wide: the security groups their firewalls use), and the CNI comes after all of them.
 */
export function buildStacks(app: App, plan: ClusterPlan) {
  const { stacks } = plan;
  const hostNetwork = new HostNetworkStack(app, stacks.hostNetwork, { plan });
  const vms = new NodeVmsStack(app, stacks.vms, { plan, after: [hostNetwork] });
  const vmShards = stacks.vmShards.map((shard) => new NodeVmsShardStack(app, shard.id, { plan, shard, after: [vms] }));
  // With shards and Proxmox HA (VE 9): the rule that names VMs of several shards, after them all.
  const haRules = stacks.haRules ? new HaRulesStack(app, stacks.haRules.id, { plan, after: vmShards }) : undefined;
  const cni = new CniStack(app, stacks.cni, { plan, after: [vms, ...vmShards, ...(haRules ? [haRules] : [])] });
  return { hostNetwork, vms, vmShards, haRules, cni };
}
