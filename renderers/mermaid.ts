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
  const lines = [
    "flowchart TB",
    `  gateway(["gateway ${plan.gateway}"])`,
    `  external[[${label(`external network ${plan.subnets.external.cidr}`, `MTU ${mtu.underlay.external}: management + applications`)}]]`,
    `  internal[[${label(`internal network ${plan.subnets.internal.cidr}`, `MTU ${mtu.underlay.internal}${mtu.jumboFrames.internal ? " (jumbo)" : ""}: nodes, etcd, overlay; no gateway`)}]]`,
    `  overlay{{${label(`pod overlay ${plan.subnets.pod.cidr}`, `${mtu.encapsulation === "none" ? "routed" : mtu.encapsulation}, MTU ${mtu.overlay}`)}}}`,
    "  gateway --- external",
    "  internal -. carries .- overlay",
  ];
  for (const host of plan.hosts) {
    lines.push(`  subgraph ${id("host", host.name)}[${label(`Proxmox node ${host.name}`)}]`);
    for (const iface of host.interfaces) {
      const text = [iface.name, ...(iface.address ? [iface.address] : []), `MTU ${iface.mtu}`];
      lines.push(`    ${id(host.name, iface.name)}[${label(...text)}]`);
    }
    for (const vm of plan.vms.filter((v) => v.node === host.name)) {
      lines.push(`    subgraph ${id("vm", vm.name)}[${label(`${vm.name} (${vm.id}, ${vm.role})`)}]`);
      for (const nic of vm.nics) lines.push(`      ${id(vm.name, nic.guestName)}[${label(`${nic.guestName} ${nic.ip}`, `MTU ${nic.mtu}, ${nic.queues} queues`)}]`);
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
