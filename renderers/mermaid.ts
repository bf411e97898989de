/**
 * A Mermaid picture of the topology, in the spirit of the design documents' diagrams: the two
 * physical networks, each Proxmox host's NICs and bridges, the VMs on both bridges, and the
 * pod overlay riding on the internal network. Pure: plan in, Mermaid text out.
 */
import type { ClusterPlan } from "../config/plan";

const id = (...parts: (string | number)[]) => parts.join("_").replace(/[^A-Za-z0-9_]/g, "_");
const label = (...lines: string[]) => `"${lines.join("<br/>").replace(/"/g, "#quot;")}"`;

export function renderMermaid(plan: ClusterPlan): string {
  const { mtu } = plan;
  // Dual-stack: each network's IPv6 prefix beside its IPv4 one, and per family how the pods cross
  // the internal network (the CNI model's underlay family and overhead).
  const six = plan.ipv6;
  const and6 = (v4: string, v6: string | undefined) => (v6 ? `${v4} + ${v6}` : v4);
  const encapsulation = mtu.encapsulation === "none" ? "routed" : mtu.encapsulation;
  const k8s = plan.kubernetesNetwork;
  const overlay = k8s.dualStack
    ? [
        `pod overlay ${k8s.podSubnets[0]} + ${k8s.podSubnets[1]}, MTU ${mtu.overlay}`,
        `IPv4 pods: ${encapsulation} over IPv4, ${mtu.overheadByFamily!.ipv4} bytes`,
        `IPv6 pods: ${encapsulation} over ${plan.cni.ipv6Underlay === "ipv6" ? "IPv6" : "IPv4"}, ${mtu.overheadByFamily!.ipv6} bytes`,
      ]
    : [`pod overlay ${plan.subnets.pod.cidr}`, `${encapsulation}, MTU ${mtu.overlay}`];
  const lines = [
    "flowchart TB",
    `  gateway(["gateway ${and6(plan.gateway, six?.gateway)}"])`,
    `  external[[${label(`external network ${and6(plan.subnets.external.cidr, six?.subnets.external.cidr)}`, `MTU ${mtu.underlay.external}: management + applications`)}]]`,
    `  internal[[${label(`internal network ${and6(plan.subnets.internal.cidr, six?.subnets.internal?.cidr)}`, `MTU ${mtu.underlay.internal}${mtu.jumboFrames.internal ? " (jumbo)" : ""}: nodes, etcd, overlay; no gateway`)}]]`,
    `  overlay{{${label(...overlay)}}}`,
    "  gateway --- external",
    "  internal -. carries .- overlay",
  ];
  for (const host of plan.hosts) {
    lines.push(`  subgraph ${id("host", host.name)}[${label(`Proxmox node ${host.name}`)}]`);
    for (const iface of host.interfaces) {
      const text = [iface.name, ...(iface.address ? [iface.address] : []), ...(iface.address6 ? [iface.address6] : []), `MTU ${iface.mtu}`];
      lines.push(`    ${id(host.name, iface.name)}[${label(...text)}]`);
    }
    for (const vm of plan.vms.filter((v) => v.node === host.name)) {
      lines.push(`    subgraph ${id("vm", vm.name)}[${label(`${vm.name} (${vm.id}, ${vm.role})`)}]`);
      for (const nic of vm.nics) lines.push(`      ${id(vm.name, nic.guestName)}[${label(`${nic.guestName} ${nic.ip}`, ...(nic.ip6 ? [nic.ip6] : []), `MTU ${nic.mtu}, ${nic.queues} queues`)}]`);
      lines.push("    end");
    }
    lines.push("  end");
    for (const iface of host.interfaces) {
      const c = iface.config;
      const lower = c.kind === "bridge" ? c.ports : c.kind === "bond" ? c.slaves : [];
      for (const port of lower) lines.push(`  ${id(host.name, port)} --- ${id(host.name, iface.name)}`);
    }
    for (const vm of plan.vms.filter((v) => v.node === host.name)) {
      for (const nic of vm.nics) lines.push(`  ${id(vm.name, nic.guestName)} --- ${id(host.name, nic.bridge)}`);
    }
    for (const role of ["external", "internal"] as const) {
      const bridge = host.bridges[role];
      const uplinks = bridge.config.kind === "bridge" ? bridge.config.ports : [];
      const attach = uplinks.length ? uplinks.map((p) => id(host.name, p)) : [id(host.name, bridge.name)];
      for (const node of attach) lines.push(`  ${node} === ${role}`);
    }
  }
  return lines.join("\n") + "\n";
}
