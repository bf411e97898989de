/**
 * The Proxmox VM firewall of every node VM, derived from the plan: input policy DROP, and an
 * ACCEPT rule for each flow the cluster needs, scoped to the NIC it arrives on (net0 external,
 * net1 internal) and to the network it comes from. The rules depend only on the part a node
 * plays, so they live in one Proxmox security group per role that every VM of the role uses.
 * Pure: plan in, rules out.
 *
 * Ports: the Kubernetes "Ports and Protocols" reference (API 6443, etcd 2379-2380, kubelet
 * 10250, controller-manager 10257, scheduler 10259, NodePorts 30000-32767). What the CNI needs
 * between nodes, and where pod addresses appear on the internal network, are the CNI model's
 * facts (config/cni: flannel's vxlan on its port or wireguard 51820; Calico's BGP 179, IP-in-IP =
 * IP protocol 4, VXLAN 4789, Typha 5473; with their sources). LoadBalancer services: the ports
 * kubernetes.loadBalancer lists, to the pool's addresses only.
 *
 * Dual-stack: every rule that admits a network admits its IPv6 counterpart too, in a rule of its
 * own, since pve-firewall refuses a list that mixes the families ("detected mixed ipv4/ipv6
 * addresses in address list", src/PVE/Firewall.pm parse_address_list). IPv4's `icmp` rules have
 * an `icmpv6` twin (the protocol name both pve-firewall and proxmox-firewall take; it admits ping).
 * Neighbour discovery and packet-too-big need no rule: the VM firewall's option ndp=1 admits
 * neighbour and router solicitation and neighbour advertisement, and both backends accept
 * destination-unreachable, packet-too-big and time-exceeded before a DROP policy (pve-firewall's
 * PVEFW-Drop; proxmox-firewall's allow-icmp chain, which adds parameter-problem). With ndp=1,
 * router advertisements are admitted inbound too; radv only lets a VM send them.
 */
import { createHash } from "node:crypto";
import { compareIpv6, contains, contains6, ipv4ToNumber, parseSubnet, parseSubnet6 } from "../config/ip";
import type { ClusterPlan, VmPlan } from "../config/plan";

export interface FirewallRule {
  /** The VM NIC: net0 (external) or net1 (internal); none for a source on neither network. */
  readonly iface?: "net0" | "net1";
  /** Protocol name or number, as /etc/protocols has it. */
  readonly proto: string;
  /** Destination ports ('6443', '2379:2380'); none for protocols without ports. */
  readonly dport?: string;
  /** Source networks or addresses, comma-separated. */
  readonly source: string;
  /** Destination networks or addresses, comma-separated; none for the VM's own addresses. */
  readonly dest?: string;
  readonly comment: string;
}

const NODE_PORTS = "30000:32767";

/** True for IPv6 text (a network or an address). */
const isIpv6 = (source: string): boolean => source.includes(":");

/** Which NIC a source network arrives on: the network (of its family) that contains it, if one does. */
function ifaceFor(plan: ClusterPlan, from: string): FirewallRule["iface"] {
  if (isIpv6(from)) {
    const source = parseSubnet6(from);
    const subnets = plan.ipv6?.subnets;
    const inside6 = (role: "external" | "internal") => {
      const net = subnets?.[role];
      return net !== undefined && source.prefix >= net.prefix && contains6(net, source.network);
    };
    return inside6("external") ? "net0" : inside6("internal") ? "net1" : undefined;
  }
  const source = parseSubnet(from);
  const inside = (role: "external" | "internal") => source.prefix >= plan.subnets[role].prefix && contains(plan.subnets[role], source.network);
  return inside("external") ? "net0" : inside("internal") ? "net1" : undefined;
}

type Role = VmPlan["role"];

/**
 * The security group of a role: Proxmox allows [A-Za-z][A-Za-z0-9_-]+ of at most 18 characters.
 * `k8s-<cluster>-cp` / `-wk`; a long cluster name is shortened, with a hash of it kept unique.
 */
export function securityGroupName(plan: ClusterPlan, role: Role): string {
  const suffix = role === "control-plane" ? "-cp" : "-wk";
  const full = `k8s-${plan.config.name}`;
  const base = full.length <= 15 ? full : `${full.slice(0, 10)}${createHash("sha256").update(plan.config.name).digest("hex").slice(0, 5)}`;
  return `${base}${suffix}`;
}

/** The roles the plan's VMs play, in a stable order. */
export const rolesOf = (plan: ClusterPlan): Role[] => (["control-plane", "worker"] as const).filter((role) => plan.vms.some((vm) => vm.role === role));

/** Every inbound rule for the VMs of one role, in a stable order. Empty when the firewall is off. */
export function firewallRules(plan: ClusterPlan, role: Role): FirewallRule[] {
  const fw = plan.config.firewall;
  if (!fw.enabled) return [];
  const external = plan.subnets.external.cidr;
  const internalNet = plan.subnets.internal.cidr;
  const pods = plan.subnets.pod.cidr;
  // The IPv6 counterparts, where the plan has them (dual-stack).
  const v6 = plan.ipv6?.subnets;
  const external6 = v6?.external.cidr;
  const internalNet6 = v6?.internal?.cidr;
  const pods6 = v6?.pod?.cidr;
  const { peerFlows, podSourced } = plan.cni;
  // Who reaches the node services opened to the internal network (API, control-plane components,
  // kubelet): the nodes, and the pods wherever pod addresses cross the internal network - to pods
  // on other nodes (routed without encapsulation; the pod rules below admit them as well), or to
  // the nodes' own addresses (no outgoing NAT: through these rules only).
  const podsCross = podSourced.toPods || podSourced.toNodes;
  const internal = podsCross ? `${internalNet},${pods}` : internalNet;
  const internal6 = internalNet6 && (podsCross && pods6 ? `${internalNet6},${pods6}` : internalNet6);
  // In address order, not the VM list's: reordering the VMs changes no rule.
  const controlPlaneVms = plan.vms.filter((v) => v.role === "control-plane");
  const controlPlanes = controlPlaneVms.map((v) => v.nics[1].ip).sort((a, b) => ipv4ToNumber(a) - ipv4ToNumber(b));
  const controlPlanes6 = controlPlaneVms.flatMap((v) => (v.nics[1].ip6 ? [v.nics[1].ip6] : [])).sort(compareIpv6);
  const port = String(plan.apiServer.port);
  const rules: FirewallRule[] = [];
  const add = (rule: FirewallRule) => rules.push(rule);
  /** The rule, and its IPv6 twin from `source6` when there is one (ICMP becomes ICMPv6). */
  const addBoth = (rule: FirewallRule, source6: string | undefined) => {
    add(rule);
    if (source6) add({ ...rule, proto: rule.proto === "icmp" ? "icmpv6" : rule.proto, source: source6, comment: rule.proto === "icmp" ? rule.comment.replace(/^ICMP:/, "ICMPv6:") : rule.comment });
  };

  // SSH: the networks firewall.ssh lists, one rule per family; by default the external network's.
  const ssh = plan.firewallSources.ssh ?? [external, ...(external6 ? [external6] : [])];
  for (const sources of [ssh.filter((s) => !isIpv6(s)), ssh.filter(isIpv6)]) {
    if (sources.length) add({ iface: "net0", proto: "tcp", dport: "22", source: sources.join(","), comment: "SSH (node setup)" });
  }
  addBoth({ iface: "net0", proto: "icmp", source: external, comment: "ICMP: ping, path MTU discovery" }, external6);
  addBoth({ iface: "net1", proto: "icmp", source: internalNet, comment: "ICMP: ping, path MTU discovery" }, internalNet6);
  if (role === "control-plane") {
    addBoth({ iface: "net1", proto: "tcp", dport: port, source: internal, comment: `Kubernetes API${plan.apiServer.vip ? ` (VIP ${plan.apiServer.vip})` : ""}` }, internal6);
    if (plan.apiServer.external) addBoth({ iface: "net0", proto: "tcp", dport: port, source: external, comment: "Kubernetes API for kubectl" }, external6);
    addBoth({ iface: "net1", proto: "tcp", dport: "2379:2380", source: controlPlanes.join(","), comment: "etcd between control planes" }, controlPlanes6.join(",") || undefined);
    addBoth({ iface: "net1", proto: "tcp", dport: "10257", source: internal, comment: "kube-controller-manager" }, internal6);
    addBoth({ iface: "net1", proto: "tcp", dport: "10259", source: internal, comment: "kube-scheduler" }, internal6);
  }
  addBoth({ iface: "net1", proto: "tcp", dport: "10250", source: internal, comment: "kubelet API" }, internal6);
  // The CNI's own flows between nodes.
  for (const flow of peerFlows) {
    const family = flow.family ?? (plan.cni.ipv6Underlay === "ipv6" ? "both" : "ipv4");
    const rule: FirewallRule = { iface: "net1", proto: flow.proto, ...(flow.port !== undefined ? { dport: String(flow.port) } : {}), source: internalNet, comment: flow.name };
    if (family !== "ipv6") add(rule);
    if (family !== "ipv4" && internalNet6) add({ ...rule, source: internalNet6 });
  }
  if (podSourced.toPods) {
    for (const proto of ["tcp", "udp", "icmp"]) addBoth({ iface: "net1", proto, source: pods, comment: "pod traffic, routed without encapsulation" }, pods6);
  }
  if (fw.nodePorts) {
    addBoth({ iface: "net0", proto: "tcp", dport: NODE_PORTS, source: external, comment: "Kubernetes NodePorts" }, external6);
    addBoth({ iface: "net0", proto: "udp", dport: NODE_PORTS, source: external, comment: "Kubernetes NodePorts" }, external6);
  }
  // LoadBalancer services: their addresses live on the control planes' external NIC, wherever
  // kube-vip's services leader runs (renderers/kube-vip.ts), so only those admit them.
  if (role === "control-plane" && plan.loadBalancer) {
    for (const dest of addressLists(plan.loadBalancer.cidrs)) {
      for (const p of plan.loadBalancer.ports) add({ iface: "net0", proto: p.protocol, dport: p.ports, source: p.source, dest, comment: "LoadBalancer services (kubernetes.loadBalancer)" });
    }
  }
  // The description's own rules, from the plan (IPv6 networks in canonical text): `external` and
  // `internal` stand for both families of the network, any other source for itself.
  fw.rules.forEach((rule, i) => {
    if (!rule.roles.includes(role)) return;
    const from = plan.firewallSources.rules[i]!;
    const comment = rule.comment ?? "firewall.rules";
    if (from === "external") addBoth({ iface: "net0", proto: rule.protocol, dport: rule.ports, source: external, comment }, external6);
    else if (from === "internal") addBoth({ iface: "net1", proto: rule.protocol, dport: rule.ports, source: internalNet, comment }, internalNet6);
    else {
      const iface = ifaceFor(plan, from);
      add({ ...(iface ? { iface } : {}), proto: rule.protocol, dport: rule.ports, source: from, comment });
    }
  });
  return rules;
}

/**
 * Networks as the destinations of as few rules as can hold them. pve-firewall takes a rule's
 * address as one range or a comma-separated list of addresses and networks ("you can't use a
 * range in a list"), of at most 512 characters (src/PVE/Firewall.pm, parse_address_list and the
 * rule's `dest`, pve-firewall 6.0.4).
 */
export function addressLists(cidrs: readonly string[], max = 512): string[] {
  const lists: string[] = [];
  for (const cidr of cidrs) {
    const last = lists.length - 1;
    if (last >= 0 && lists[last]!.length + 1 + cidr.length <= max) lists[last] += `,${cidr}`;
    else lists.push(cidr);
  }
  return lists;
}
