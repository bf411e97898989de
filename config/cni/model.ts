/**
 * What a CNI puts on the internal network, as facts every consumer reads: the MTU plan (its
 * overhead), the firewall (its flows between nodes, and where pod addresses appear), validation
 * (what its routing needs of the network), and the constructs that configure it. Each plugin
 * states its facts in a module of its own (config/cni/flannel.ts, calico.ts, cilium.ts); nothing
 * else decides them.
 */
import type { ClusterConfig } from "../schema";

export type CniConfig = ClusterConfig["kubernetes"]["cni"];
export type CniPlugin = CniConfig["plugin"];
export type FlannelInterface = NonNullable<CniConfig["flannel"]["interface"]>;
export type CalicoAutodetection = NonNullable<CniConfig["calico"]["autodetection"]>;

/** Bytes each encapsulation adds to an IPv4 underlay packet. */
export const ENCAPSULATION_OVERHEAD = {
  /** outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 */
  vxlan: 50,
  /**
   * outer IPv4 20 + UDP 8 + Geneve 8 (no options) + inner Ethernet 14: Cilium's one tunnel
   * overhead for VXLAN and Geneve (pkg/mtu/mtu.go, TunnelOverheadIPv4; config/cni/cilium.ts)
   */
  geneve: 50,
  /** outer IPv4 header */
  ipip: 20,
  /** outer IPv4 20 + UDP 8 + WireGuard 32 (80 over IPv6) */
  wireguard: 60,
  /** plain routing, no encapsulation */
  none: 0,
} as const;

/** WireGuard over an IPv6 underlay: outer IPv6 40 + UDP 8 + WireGuard 32. */
export const WIREGUARD_IPV6_OVERHEAD = 80;

/**
 * VXLAN over an IPv6 underlay: outer IPv6 40 + UDP 8 + VXLAN 8 + inner Ethernet 14, 20 bytes more
 * than over IPv4 (the IPv6 header is 40 bytes against 20; RFC 8200 section 3). Cilium's
 * pkg/mtu/mtu.go has the same figure (TunnelOverheadIPv6 = 70).
 */
export const VXLAN_IPV6_OVERHEAD = 70;

export type Encapsulation = keyof typeof ENCAPSULATION_OVERHEAD;

/** A flow of the CNI's own between nodes, on the internal network. */
export interface CniPeerFlow {
  /** Protocol name or number, as /etc/protocols has it. */
  readonly proto: "tcp" | "udp" | "4";
  /** Destination port; none for a protocol without ports. */
  readonly port?: number;
  /** What it is (the firewall rule's comment). */
  readonly name: string;
  /**
   * The address family the flow crosses the internal network in, where dual-stack makes it
   * matter: "ipv4" or "ipv6" only, or "both".
   * @default IPv4, and IPv6 too where the CNI's IPv6 pods ride an IPv6 underlay (ipv6Underlay)
   */
  readonly family?: "ipv4" | "ipv6" | "both";
}

/**
 * Pod traffic that crosses the internal network with its pod source address, by where it goes.
 * Anything else a pod sends between nodes is either encapsulated (the outer source is the node's
 * internal address) or masqueraded to the node's address.
 */
export interface PodSourcedTraffic {
  /** Pod to pod: routed between nodes without encapsulation. */
  readonly toPods: boolean;
  /** Pod to a node's own addresses (the API, the kubelet): not masqueraded. */
  readonly toNodes: boolean;
}

/** The setting that routes pods straight to the next node, when that needs every node on one L2 segment. */
export interface OneSegmentRouting {
  /** Its place in the description. */
  readonly path: string;
  /** Its name in messages: "host-gw". */
  readonly name: string;
  /** The alternative that encapsulates instead. */
  readonly instead: string;
}

/** What a plugin's settings put on the wire, before the MTU plan sizes it. */
export interface CniFacts {
  readonly plugin: CniPlugin;
  /**
   * The encapsulation between nodes in the worst case: modes that route directly within a subnet
   * (Calico's CrossSubnet, flannel's DirectRouting) still encapsulate across subnets.
   */
  readonly encapsulation: Encapsulation;
  /**
   * Bytes the encapsulation costs per packet, as the plugin itself reserves them when it sizes
   * its tunnel device from the MTU it is configured with (CniPlan.underlayMtu).
   */
  readonly overhead: number;
  /**
   * With dual-stack: what the encapsulation costs an IPv6 pod packet, by the underlay family the
   * plugin tunnels it over (flannel's and Calico's VXLAN carry IPv6 pods in a second VXLAN device
   * over the nodes' IPv6 addresses: 70; Cilium tunnels both families over IPv4 here: 50). The
   * MTU plan reserves the larger of this and `overhead`, so that no pod packet of either family
   * outgrows the internal NIC (config/plan.ts planMtu).
   */
  readonly overhead6?: number;
  /** With dual-stack: the family of the node addresses IPv6 pod traffic travels between (encapsulated or routed). */
  readonly ipv6Underlay?: "ipv4" | "ipv6";
  /** The plugin's own flows between nodes. */
  readonly peerFlows: readonly CniPeerFlow[];
  /** Whether the plugin distributes pod routes with BGP. */
  readonly bgp: boolean;
  /** Whether pod traffic to addresses outside the pod network leaves with the node's address. */
  readonly natOutgoing: boolean;
  readonly podSourced: PodSourcedTraffic;
  /** Set when pods are routed to the next node's internal address and that needs one L2 segment. */
  readonly oneSegment?: OneSegmentRouting;
  /** How flanneld picks the internal NIC in every node (flannel). */
  readonly flannelInterface?: FlannelInterface;
  /** How calico-node picks the node address (Calico). */
  readonly calicoAutodetection?: CalicoAutodetection;
  /** With dual-stack: how calico-node picks the node's IPv6 address (Calico), on the internal NIC too. */
  readonly calicoAutodetection6?: CalicoAutodetection | { readonly cidrs: readonly string[] };
  /**
   * The NICs Cilium attaches to (Cilium's `devices`): the internal NIC's pinned name; none for
   * Cilium's own detection. The node IP is the kubelet's internal node-ip either way.
   */
  readonly ciliumDevices?: readonly string[];
  /**
   * Set when the CNI runs dual-stack (networks.internal.ipv6): an IPv6 pool from the plan's
   * kubernetesNetwork.podSubnets[1] beside the IPv4 one. Flannel: EnableIPv6 and IPv6Network
   * (configuration.md, "Dual-stack": vxlan, wireguard and host-gw support it); Calico: a second
   * IP pool (its VXLAN or unencapsulated modes; IP-in-IP is IPv4 only); Cilium: ipv6.enabled.
   */
  readonly dualStack?: true;
  /** Whether the plugin does kube-proxy's work (Cilium's kubeProxyReplacement): kubeadm then installs and upgrades no kube-proxy. */
  readonly replacesKubeProxy?: boolean;
}

export interface CniPlan extends CniFacts {
  /**
   * The MTU the CNI is configured with where it takes the underlay's: the overlay MTU plus the
   * overhead the plugin itself subtracts (`overhead`). Flannel's vxlan and wireguard backends and
   * Cilium are configured with it (they subtract their overhead themselves). With flannel's
   * dual-stack VXLAN the IPv6 packets on the wire are 20 bytes larger than this (`overhead6`),
   * which the plan's overlay MTU has left room for.
   */
  readonly underlayMtu: number;
}

/** One plugin: its facts from the description. */
export interface CniModule {
  facts(config: ClusterConfig): CniFacts;
}
