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
 */
import { createHash } from "node:crypto";
import { contains, parseSubnet } from "../config/ip";
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

/** Which NIC a source arrives on: the network that contains it, if one does. */
function ifaceFor(plan: ClusterPlan, from: string): FirewallRule["iface"] {
  if (from === "external") return "net0";
  if (from === "internal") return "net1";
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
  const { peerFlows, podSourced } = plan.cni;
  // Who reaches the node services opened to the internal network (API, control-plane components,
  // kubelet): the nodes, and the pods wherever pod addresses cross the internal network - to pods
  // on other nodes (routed without encapsulation; the pod rules below admit them as well), or to
  // the nodes' own addresses (no outgoing NAT: through these rules only).
  const internal = podSourced.toPods || podSourced.toNodes ? `${internalNet},${pods}` : internalNet;
  // In address order, not the VM list's: reordering the VMs changes no rule.
  const controlPlanes = plan.vms
    .filter((v) => v.role === "control-plane")
    .map((v) => v.nics[1].ip)
    .sort((a, b) => ipv4Number(a) - ipv4Number(b));
  const port = String(plan.apiServer.port);
  const rules: FirewallRule[] = [];
  const add = (rule: FirewallRule) => rules.push(rule);

  add({ iface: "net0", proto: "tcp", dport: "22", source: (fw.ssh ?? [external]).join(","), comment: "SSH (node setup)" });
  add({ iface: "net0", proto: "icmp", source: external, comment: "ICMP: ping, path MTU discovery" });
  add({ iface: "net1", proto: "icmp", source: internalNet, comment: "ICMP: ping, path MTU discovery" });
  if (role === "control-plane") {
    add({ iface: "net1", proto: "tcp", dport: port, source: internal, comment: `Kubernetes API${plan.apiServer.vip ? ` (VIP ${plan.apiServer.vip})` : ""}` });
    if (plan.apiServer.external) add({ iface: "net0", proto: "tcp", dport: port, source: external, comment: "Kubernetes API for kubectl" });
    add({ iface: "net1", proto: "tcp", dport: "2379:2380", source: controlPlanes.join(","), comment: "etcd between control planes" });
    add({ iface: "net1", proto: "tcp", dport: "10257", source: internal, comment: "kube-controller-manager" });
    add({ iface: "net1", proto: "tcp", dport: "10259", source: internal, comment: "kube-scheduler" });
  }
  add({ iface: "net1", proto: "tcp", dport: "10250", source: internal, comment: "kubelet API" });
  // The CNI's own flows between nodes.
  for (const flow of peerFlows) add({ iface: "net1", proto: flow.proto, ...(flow.port !== undefined ? { dport: String(flow.port) } : {}), source: internalNet, comment: flow.name });
  if (podSourced.toPods) {
    for (const proto of ["tcp", "udp", "icmp"]) add({ iface: "net1", proto, source: pods, comment: "pod traffic, routed without encapsulation" });
  }
  if (fw.nodePorts) {
    add({ iface: "net0", proto: "tcp", dport: NODE_PORTS, source: external, comment: "Kubernetes NodePorts" });
    add({ iface: "net0", proto: "udp", dport: NODE_PORTS, source: external, comment: "Kubernetes NodePorts" });
  }
  // LoadBalancer services: their addresses live on the control planes' external NIC, wherever
  // kube-vip's services leader runs (renderers/kube-vip.ts), so only those admit them.
  if (role === "control-plane" && plan.loadBalancer) {
    for (const dest of addressLists(plan.loadBalancer.cidrs)) {
      for (const p of plan.loadBalancer.ports) add({ iface: "net0", proto: p.protocol, dport: p.ports, source: p.source, dest, comment: "LoadBalancer services (kubernetes.loadBalancer)" });
    }
  }
  for (const rule of fw.rules) {
    if (!rule.roles.includes(role)) continue;
    const source = rule.from === "external" ? external : rule.from === "internal" ? internalNet : rule.from;
    const iface = ifaceFor(plan, rule.from);
    add({ ...(iface ? { iface } : {}), proto: rule.protocol, dport: rule.ports, source, comment: rule.comment ?? "firewall.rules" });
  }
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

/** An IPv4 address as the number it stands for (for sorting). */
function ipv4Number(ip: string): number {
  return ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}
