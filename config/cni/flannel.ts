/**
 * Flannel v0.28.9: what each backend puts on the internal network. Sources: flannel's
 * Documentation/backends.md and configuration.md of that version (the team's copies in
 * /work/shared/reference/flannel-v0.28.9/).
 */
import { splitAddress } from "../ip";
import { roleBridge } from "../mtu";
import type { ClusterConfig } from "../schema";
import { ENCAPSULATION_OVERHEAD, WIREGUARD_IPV6_OVERHEAD, type CniModule, type FlannelInterface, type OneSegmentRouting } from "./model";

/**
 * Flannel's interface selection, surviving NIC renaming: the pinned guest name when the
 * network-data snippet renames NICs, else the NIC that routes to a Proxmox host's internal
 * address (never a node's own address: that routes via lo).
 */
function flannelInterface(config: ClusterConfig): FlannelInterface | undefined {
  const explicit = config.kubernetes.cni.flannel.interface;
  if (explicit) return explicit;
  const networkData = config.vmDefaults.cloudInit.networkData;
  if (networkData.enabled) return { name: networkData.interfaceNames[1] };
  for (const node of config.proxmox.nodes) {
    const address = roleBridge(node, "internal")?.address;
    if (address) return { canReach: splitAddress(address).ip };
  }
  return undefined;
}

export const flannel: CniModule = {
  facts(config) {
    const f = config.kubernetes.cni.flannel;
    // backends.md, host-gw: "create IP routes to subnets via remote machine IPs. Requires direct
    // layer2 connectivity between hosts". vxlan with DirectRouting: "Enable direct routes (like
    // host-gw) when the hosts are on the same subnet. VXLAN will only be used to encapsulate
    // packets to hosts on different subnets" - and every node's internal address is in the one
    // internal subnet, so DirectRouting routes all pod traffic between nodes like host-gw.
    const oneSegment: OneSegmentRouting | undefined =
      f.backend === "host-gw"
        ? { path: "kubernetes.cni.flannel.backend", name: "host-gw", instead: "use backend: vxlan" }
        : f.backend === "vxlan" && f.directRouting
          ? { path: "kubernetes.cni.flannel.directRouting", name: "DirectRouting", instead: "set directRouting: false" }
          : undefined;
    // configuration.md: "--ip-masq: setup IP masquerade for traffic destined for outside the
    // flannel network" - flanneld runs with it (renderers/flannel.ts), so pod traffic to a node's
    // own address arrives with the sending node's address.
    const natOutgoing = true;
    const common = {
      plugin: "flannel" as const,
      bgp: false,
      natOutgoing,
      podSourced: { toPods: oneSegment !== undefined, toNodes: !natOutgoing },
      oneSegment,
      flannelInterface: flannelInterface(config),
    };
    switch (f.backend) {
      case "vxlan":
        // backends.md, vxlan `Port`: "UDP port to use for sending encapsulated packets. On Linux,
        // defaults to kernel default, currently 8472".
        return { ...common, encapsulation: "vxlan", overhead: ENCAPSULATION_OVERHEAD.vxlan, peerFlows: [{ proto: "udp", port: f.port, name: "flannel VXLAN" }] };
      case "wireguard":
        // Flannel's WireGuard backend always reserves the IPv6 overhead (80), even over IPv4, so the
        // plan uses what flannel really does. backends.md, `ListenPort`: "Default is 51820".
        return { ...common, encapsulation: "wireguard", overhead: WIREGUARD_IPV6_OVERHEAD, peerFlows: [{ proto: "udp", port: 51820, name: "flannel WireGuard" }] };
      case "host-gw":
        return { ...common, encapsulation: "none", overhead: ENCAPSULATION_OVERHEAD.none, peerFlows: [] };
    }
  },
};
