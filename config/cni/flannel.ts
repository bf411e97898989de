/**
 * Flannel v0.28.9: what each backend puts on the internal network. Sources: flannel's
 * Documentation/backends.md and configuration.md of that version (the team's copies in
 * /work/shared/reference/flannel-v0.28.9/).
 */
import { dualStackOf } from "../dual-stack";
import { splitAddress } from "../ip";
import { roleBridge } from "../mtu";
import type { ClusterConfig } from "../schema";
import { ENCAPSULATION_OVERHEAD, VXLAN_IPV6_OVERHEAD, WIREGUARD_IPV6_OVERHEAD, type CniModule, type FlannelInterface, type OneSegmentRouting } from "./model";

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
    // Dual-stack (configuration.md, "Dual-stack": EnableIPv6 and IPv6Network): each family has a
    // tunnel of its own over the same family of the internal NIC's addresses.
    const dualStack = dualStackOf(config)?.kubernetes !== undefined;
    switch (f.backend) {
      case "vxlan":
        // backends.md, vxlan `Port`: "UDP port to use for sending encapsulated packets. On Linux,
        // defaults to kernel default, currently 8472".
        // Dual-stack, from flannel v0.28.9's source: pkg/backend/vxlan/vxlan.go createVXLANDevice
        // adds `flannel-v6.<VNI>` with the interface's IPv6 address as its VTEP (IPv6 pods ride
        // VXLAN over IPv6) and the same configured MTU as `flannel.<VNI>`; device.go gives both
        // devices `MTU - 50`, and vxlan_network.go's MTU() (FLANNEL_MTU, every pod's MTU, both
        // families) is `MTU - encapOverhead` (50) too. An IPv6 pod packet of that size then costs
        // 70 bytes on the wire, 20 more than flannel reserves, so the plan reserves 70.
        return {
          ...common,
          encapsulation: "vxlan",
          overhead: ENCAPSULATION_OVERHEAD.vxlan,
          ...(dualStack ? { overhead6: VXLAN_IPV6_OVERHEAD, ipv6Underlay: "ipv6" as const } : {}),
          peerFlows: [{ proto: "udp", port: f.port, name: "flannel VXLAN" }],
        };
      case "wireguard":
        // Flannel's WireGuard backend always reserves the IPv6 overhead (80), even over IPv4, so the
        // plan uses what flannel really does. backends.md, `ListenPort`: "Default is 51820";
        // `ListenPortV6`: "The udp port to listen on for ipv6. Default is `51821`", with the
        // default Mode "separate" ("separate wireguard tunnels for ipv4 and ipv6", flannel-wg-v6).
        return {
          ...common,
          encapsulation: "wireguard",
          overhead: WIREGUARD_IPV6_OVERHEAD,
          ...(dualStack ? { overhead6: WIREGUARD_IPV6_OVERHEAD, ipv6Underlay: "ipv6" as const } : {}),
          // Mode "separate": the IPv4 tunnel between IPv4 addresses, the IPv6 one between IPv6 addresses.
          peerFlows: [
            { proto: "udp", port: 51820, name: "flannel WireGuard", ...(dualStack ? { family: "ipv4" as const } : {}) },
            ...(dualStack ? [{ proto: "udp" as const, port: 51821, name: "flannel WireGuard IPv6", family: "ipv6" as const }] : []),
          ],
        };
      case "host-gw":
        return { ...common, encapsulation: "none", overhead: ENCAPSULATION_OVERHEAD.none, ...(dualStack ? { overhead6: ENCAPSULATION_OVERHEAD.none, ipv6Underlay: "ipv6" as const } : {}), peerFlows: [] };
    }
  },
};
