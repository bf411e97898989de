/**
 * Cilium v1.20.0 (config/schema.ts CILIUM_VERSION): what each routing mode puts on the internal
 * network. Sources, read at that version unless said otherwise:
 * - the Helm chart, cilium-1.20.0.tgz of cilium/charts (install/kubernetes/cilium of cilium/cilium
 *   at v1.20.0): values.yaml `tunnelPort` ("Port 8472 for VXLAN, Port 6081 for Geneve"),
 *   `autoDirectNodeRoutes` ("Enable installation of PodCIDR routes between worker nodes if worker
 *   nodes share a common L2 network segment"), `ipv4NativeRoutingCIDR`, `enableIPv4Masquerade`
 *   ("`true` unless ipam eni mode is active"), `hubble.listenAddress` (":4244");
 *   templates/cilium-configmap.yaml (routing-mode, tunnel-protocol, tunnel-port, mtu,
 *   enable-ipv4-masquerade);
 * - pkg/mtu/mtu.go of cilium/cilium (the copy in the team's index, with TunnelOverheadIPv4/IPv6;
 *   the index gives it no tag): one tunnel overhead for VXLAN and Geneve alike,
 *   `TunnelOverheadIPv4 = 50` (outer IPv4 20 + UDP 8 + VXLAN/Geneve header 8 + inner Ethernet 14),
 *   subtracted from the route MTU only in tunnel mode (getRouteMTU); the 12 bytes more of
 *   `DsrTunnelOverhead` apply only to Geneve DSR load balancing, which is not configured here;
 * - the cilium-health port 4240 (`cluster-health-port`'s default, the agent's connectivity
 *   probes between nodes; the chart's configmap sets it only when `clusterHealthPort` is given;
 *   "TCP 4240 between nodes for endpoint reachability (health)" in typhoon's Cilium firewall
 *   rules, poseidon/terraform-google-kubernetes 097f389, and Cilium's firewall requirements page).
 */
import { dualStackOf } from "../dual-stack";
import type { ClusterConfig } from "../schema";
import { ENCAPSULATION_OVERHEAD, type CniModule, type CniPeerFlow, type OneSegmentRouting } from "./model";

/** The ports Cilium's agents use between nodes. */
export const CILIUM_PORTS = {
  /** values.yaml tunnelPort: "Port 8472 for VXLAN, Port 6081 for Geneve". */
  tunnel: { vxlan: 8472, geneve: 6081 },
  /** cilium-health between agents (cluster-health-port). */
  health: 4240,
  /** values.yaml hubble.listenAddress ":4244": the Hubble peer/server port. */
  hubble: 4244,
} as const;

/** The NICs Cilium attaches to: the explicit ones, else the pinned internal name, else Cilium's own detection. */
function ciliumDevices(config: ClusterConfig): readonly string[] | undefined {
  const explicit = config.kubernetes.cni.cilium.devices;
  if (explicit) return explicit;
  const networkData = config.vmDefaults.cloudInit.networkData;
  return networkData.enabled ? [networkData.interfaceNames[1]] : undefined;
}

export const cilium: CniModule = {
  facts(config) {
    const c = config.kubernetes.cni.cilium;
    const tunnel = c.routingMode === "tunnel";
    // Native routing with autoDirectNodeRoutes installs each node's pod CIDR route via the other
    // node's internal address: one L2 segment, like flannel's host-gw.
    const oneSegment: OneSegmentRouting | undefined = tunnel
      ? undefined
      : { path: "kubernetes.cni.cilium.routingMode", name: "native routing (autoDirectNodeRoutes)", instead: "use routingMode: tunnel" };
    const peerFlows: CniPeerFlow[] = [
      ...(tunnel ? [{ proto: "udp" as const, port: CILIUM_PORTS.tunnel[c.tunnelProtocol], name: `Cilium ${c.tunnelProtocol === "vxlan" ? "VXLAN" : "Geneve"}` }] : []),
      // The tunnel follows ipv6Underlay (IPv4 here); health and Hubble reach a node at its addresses
      // of either family, so both are admitted.
      { proto: "tcp", port: CILIUM_PORTS.health, name: "Cilium health", family: "both" },
      ...(c.hubble ? [{ proto: "tcp" as const, port: CILIUM_PORTS.hubble, name: "Cilium Hubble", family: "both" as const }] : []),
    ];
    // enable-ipv4-masquerade "true" (the chart's default, kept): pod traffic leaving the native
    // routing CIDR (the pod network) leaves with the node's address, to the nodes' own addresses too.
    const natOutgoing = true;
    return {
      plugin: "cilium",
      encapsulation: tunnel ? c.tunnelProtocol : "none",
      // VXLAN and Geneve cost the same 50 bytes in Cilium's MTU code.
      overhead: tunnel ? ENCAPSULATION_OVERHEAD[c.tunnelProtocol] : ENCAPSULATION_OVERHEAD.none,
      // Dual-stack: the chart's values set `underlayProtocol: ipv4` (values.yaml "IP family for the
      // underlay", renderers/cilium.ts), so IPv6 pods ride the same IPv4 tunnel: 50 bytes, Cilium's
      // TunnelOverheadIPv4 (TunnelOverheadIPv6, 70, applies only to an IPv6 underlay).
      // Native routing routes IPv6 pods via the nodes' IPv6 addresses (autoDirectNodeRoutes).
      ...(dualStackOf(config)?.kubernetes ? { overhead6: tunnel ? ENCAPSULATION_OVERHEAD[c.tunnelProtocol] : ENCAPSULATION_OVERHEAD.none, ipv6Underlay: tunnel ? ("ipv4" as const) : ("ipv6" as const) } : {}),
      peerFlows,
      bgp: false,
      natOutgoing,
      podSourced: { toPods: !tunnel, toNodes: !natOutgoing },
      oneSegment,
      ciliumDevices: ciliumDevices(config),
      ...(c.kubeProxyReplacement ? { replacesKubeProxy: true } : {}),
    };
  },
};
