import type { App } from "cdktf";
import type { ClusterPlan } from "../config/plan";
import { HostNetworkStack } from "./host-network-stack";
import { NodeVmsStack } from "./node-vms-stack";

/** The stacks of one cluster, in build order. */
export function buildStacks(app: App, plan: ClusterPlan) {
  const hostNetwork = new HostNetworkStack(app, "host-network", { plan });
  const vms = new NodeVmsStack(app, "vms", { plan, after: [hostNetwork] });
  return { hostNetwork, vms };
}
