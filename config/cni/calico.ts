/**
 * Calico (Tigera operator): what each IP pool encapsulation puts on the internal network.
 * Sources: Calico's documentation, "Overlay networking" (networking/vxlan-ipip) and "Configure
 * outgoing NAT" (networking/workloads-outside-cluster), projectcalico/calico's calico/ docs tree;
 * the ports: BGP 179, IP-in-IP = IP protocol 4, VXLAN 4789, Typha 5473.
 */
import { dualStackOf } from "../dual-stack";
import { parseSubnet, parseSubnet6 } from "../ip";
import { ENCAPSULATION_OVERHEAD, VXLAN_IPV6_OVERHEAD, type CniModule, type CniPeerFlow, type Encapsulation } from "./model";

export const calico: CniModule = {
  facts(config) {
    const c = config.kubernetes.cni.calico;
    const internal6 = dualStackOf(config)?.kubernetes ? config.networks.internal.ipv6!.cidr : undefined;
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
      // Dual-stack: an IPv6 pool's VXLAN runs over the nodes' IPv6 addresses (Felix's IPv6 VXLAN
      // device, sized by FELIX_VXLANMTUV6, which the Tigera operator sets to the Installation's
      // calicoNetwork.mtu like FELIX_VXLANMTU: render/node.go, "Set IPv6 VXLAN and Wireguard MTU"),
      // so an IPv6 pod packet of the pods' MTU costs 70 bytes. Unencapsulated pools cost nothing;
      // IP-in-IP carries no IPv6 (config/validate-ipv6.ts refuses it with dual-stack).
      ...(internal6 ? { overhead6: encapsulation === "vxlan" ? VXLAN_IPV6_OVERHEAD : ENCAPSULATION_OVERHEAD[encapsulation], ipv6Underlay: "ipv6" as const } : {}),
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
      // Dual-stack: the IPv6 node address on the internal NIC too (the Installation's
      // nodeAddressAutodetectionV6; the operator then sets IP6=autodetect, IP6_AUTODETECTION_METHOD
      // and FELIX_IPV6SUPPORT=true on calico-node, render/node.go). A CIDR or canReach method names
      // IPv4 addresses, so IPv6 takes the internal IPv6 network instead; an interface pattern
      // serves both families.
      ...(internal6 ? { calicoAutodetection6: c.autodetection && "interface" in c.autodetection ? c.autodetection : { cidrs: [parseSubnet6(internal6).cidr] } } : {}),
    };
  },
};
