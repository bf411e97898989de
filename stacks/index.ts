import type { App } from "cdktf";
import type { ClusterPlan } from "../config/plan";
import { CniStack } from "./cni-stack";
import { HostNetworkStack } from "./host-network-stack";
import { NodeVmsStack } from "./node-vms-stack";

/** The stacks of one cluster, in build order: host network -> VMs -> (node setup) -> CNI. */
export function buildStacks(app: App, plan: ClusterPlan) {
  const hostNetwork = new HostNetworkStack(app, "host-network", { plan });
  const vms = new NodeVmsStack(app, "vms", { plan, after: [hostNetwork] });
  const cni = new CniStack(app, "cni", { plan, after: [vms] });
  return { hostNetwork, vms, cni };
}
