/**
 * Flannel's configuration, derived from the plan (flannel v0.28.9, checked against its
 * source): net-conf.json, the CNI config, and flanneld's arguments.
 *
 * MTU: flanneld has no --mtu flag. The vxlan and wireguard backends take `MTU`, the size of
 * the *outgoing* (underlay) packets, and subtract their own overhead (vxlan 50, wireguard 80)
 * to size the tunnel device and FLANNEL_MTU in subnet.env, which the CNI plugin gives to pods;
 * `MTU` is the plan's underlay MTU (plan.cni.underlayMtu: overlay + overhead). host-gw does not
 * encapsulate: pods get the interface MTU.
 */
import type { ClusterPlan, FlannelInterface } from "../config/plan";

export const FLANNEL_HEALTHZ_PORT = 8081;

export function flannelNetConf(plan: ClusterPlan): Record<string, unknown> {
  const f = plan.config.kubernetes.cni.flannel;
  const underlay = plan.cni.underlayMtu;
  const backend =
    f.backend === "vxlan"
      ? { Type: "vxlan", VNI: f.vni, Port: f.port, MTU: underlay, DirectRouting: f.directRouting }
      : f.backend === "wireguard"
        ? { Type: "wireguard", MTU: underlay }
        : { Type: "host-gw" };
  return {
    Network: plan.subnets.pod.cidr,
    SubnetLen: plan.config.kubernetes.nodeCidrMaskSize,
    EnableNFTables: false,
    Backend: backend,
  };
}

/** The CNI chain flannel installs on every node: flannel (delegating to the bridge plugin) + portmap. */
export function flannelCniConf(): Record<string, unknown> {
  return {
    name: "cbr0",
    cniVersion: "0.3.1",
    plugins: [
      { type: "flannel", delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

export function flannelInterfaceArg(selection: FlannelInterface): string {
  if ("name" in selection) return `--iface=${selection.name}`;
  if ("regex" in selection) return `--iface-regex=${selection.regex}`;
  return `--iface-can-reach=${selection.canReach}`;
}

export function flanneldArgs(plan: ClusterPlan): string[] {
  return [...(plan.cni.natOutgoing ? ["--ip-masq"] : []), "--kube-subnet-mgr", `--healthz-port=${FLANNEL_HEALTHZ_PORT}`, flannelInterfaceArg(plan.cni.flannelInterface!)];
}

/** JSON as flannel's config map holds it: stable key order, two-space indent. */
export const jsonText = (value: unknown) => JSON.stringify(value, null, 2) + "\n";
