/**
 * Calico (Tigera operator): what each IP pool encapsulation puts on the internal network.
 * Sources: Calico's documentation, "Overlay networking" (networking/vxlan-ipip) and "Configure
 * outgoing NAT" (networking/workloads-outside-cluster), projectcalico/calico's calico/ docs tree;
 * the ports: BGP 179, IP-in-IP = IP protocol 4, VXLAN 4789, Typha 5473.
 */
import { parseSubnet } from "../ip";
import { ENCAPSULATION_OVERHEAD, type CniModule, type CniPeerFlow, type Encapsulation } from "./model";

export const calico: CniModule = {
  facts(config) {
    const c = config.kubernetes.cni.calico;
    // The CrossSubnet modes still encapsulate between subnets, so plan for the worst case.
    const encapsulation: Encapsulation = c.encapsulation.startsWith("VXLAN") ? "vxlan" : c.encapsulation.startsWith("IPIP") ? "ipip" : "none";
    // "Calico's VXLAN implementation does not use BGP, whereas Calico's IP in IP implementation
    // uses BGP between Calico nodes"; unencapsulated routing distributes its routes with BGP too.
    const bgp = encapsulation !== "vxlan";
    const peerFlows: CniPeerFlow[] = [
      ...(encapsulation === "vxlan" ? [{ proto: "udp" as const, port: 4789, name: "Calico VXLAN" }] : []),
      ...(bgp ? [{ proto: "tcp" as const, port: 179, name: "Calico BGP" }] : []),
      ...(encapsulation === "ipip" ? [{ proto: "4" as const, name: "Calico IP-in-IP" }] : []),
      { proto: "tcp", port: 5473, name: "Calico Typha" },
    ];
    return {
      plugin: "calico",
      encapsulation,
      overhead: ENCAPSULATION_OVERHEAD[encapsulation],
      peerFlows,
      bgp,
      natOutgoing: c.natOutgoing,
      podSourced: {
        // None encapsulates nothing; CrossSubnet encapsulates "only on traffic that crosses a
        // subnet boundary", and every node's internal address is in the one internal subnet.
        toPods: c.encapsulation === "None" || c.encapsulation.endsWith("CrossSubnet"),
        // "When NAT is enabled, traffic is NATed from pods in that pool to any destination outside
        // of all other Calico IP pools" - the nodes' addresses are outside them, so without it a
        // pod reaches the API and the kubelet of another node with its own address.
        toNodes: !c.natOutgoing,
      },
      // Not required of Calico: where the nodes' internal networks are apart, the routers between
      // them can learn pod routes by BGP ("Networks become aware of workload IP addresses through
      // layer 3 routing techniques like static routes or BGP route distribution").
      oneSegment: undefined,
      calicoAutodetection: c.autodetection ?? { cidrs: [parseSubnet(config.networks.internal.cidr).cidr] },
    };
  },
};
