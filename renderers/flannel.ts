/**
 * Flannel's configuration, derived from the plan (flannel v0.28.9, checked against its
 * source): net-conf.json, the CNI config, and flanneld's arguments.
 *
 * MTU: flanneld has no --mtu flag. The vxlan and wireguard backends take `MTU`, the size of
 * the *outgoing* (underlay) packets, and subtract their own overhead (vxlan 50, wireguard 80)
 * to size the tunnel device and FLANNEL_MTU in subnet.env, which the CNI plugin gives to pods;
 * `MTU` is the plan's underlay MTU (plan.cni.underlayMtu: overlay + overhead). host-gw does not
 * encapsulate: pods get the interface MTU.
 *
 * Dual-stack (configuration.md, "Dual-stack"): `EnableIPv6` and `IPv6Network` (the IPv6 pod
 * network), and `IPv6SubnetLen` beside `SubnetLen` (kube-controller-manager's
 * --node-cidr-mask-size-ipv6; with --kube-subnet-mgr flannel takes each node's subnets from the
 * node's podCIDRs, as for IPv4). The backend keeps one `MTU` for both families: flannel sizes
 * `flannel-v6.<VNI>` and FLANNEL_MTU from it exactly as the IPv4 ones, and the plan's overlay MTU
 * leaves room for VXLAN over IPv6 (config/cni/flannel.ts).
 */
import type { CniPlan, FlannelInterface } from "../config/plan";
import type { CniConfig } from "../config/cni/model";

export const FLANNEL_HEALTHZ_PORT = 8081;

/** What flannel's configuration is made of: the pod network, the CNI model's facts, the description's flannel settings. */
export interface FlannelInputs {
  /** The pod network flannel hands node subnets out of. */
  readonly podCidr: string;
  /** The prefix length of each node's subnet (kubernetes.nodeCidrMaskSize). */
  readonly nodeCidrMaskSize: number;
  /** With dual-stack: the IPv6 pod network and the prefix length of each node's IPv6 subnet. */
  readonly ipv6?: { readonly podCidr: string; readonly nodeCidrMaskSize: number };
  /** The CNI model's facts (config/cni/flannel.ts): the underlay MTU, outgoing NAT, the internal NIC's selection. */
  readonly cni: Pick<CniPlan, "underlayMtu" | "natOutgoing" | "flannelInterface">;
  /** kubernetes.cni.flannel: backend, VNI, port, direct routing, images. */
  readonly settings: CniConfig["flannel"];
}

export function flannelNetConf({ podCidr, nodeCidrMaskSize, ipv6, cni, settings: f }: FlannelInputs): Record<string, unknown> {
  const underlay = cni.underlayMtu;
  const backend =
    f.backend === "vxlan"
      ? { Type: "vxlan", VNI: f.vni, Port: f.port, MTU: underlay, DirectRouting: f.directRouting }
      : f.backend === "wireguard"
        ? { Type: "wireguard", MTU: underlay }
        : { Type: "host-gw" };
  return {
    Network: podCidr,
    SubnetLen: nodeCidrMaskSize,
    ...(ipv6 ? { EnableIPv6: true, IPv6Network: ipv6.podCidr, IPv6SubnetLen: ipv6.nodeCidrMaskSize } : {}),
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

export function flanneldArgs({ cni }: Pick<FlannelInputs, "cni">): string[] {
  return [...(cni.natOutgoing ? ["--ip-masq"] : []), "--kube-subnet-mgr", `--healthz-port=${FLANNEL_HEALTHZ_PORT}`, flannelInterfaceArg(cni.flannelInterface!)];
}

/** JSON as flannel's config map holds it: stable key order, two-space indent. */
export const jsonText = (value: unknown) => JSON.stringify(value, null, 2) + "\n";
