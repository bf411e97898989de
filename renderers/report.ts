/**
 * The review report: what a reviewer needs to see of a plan without reading Terraform JSON.
 * Pure: plan in, Markdown (for pull-request comments) or plain text out.
 */
import type { ClusterPlan } from "../config/plan";
import { firewallRules, rolesOf, securityGroupName } from "./firewall";
import { flannelInterfaceArg } from "./flannel";

export type ReportFormat = "markdown" | "text";

interface Table {
  readonly title: string;
  readonly head: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
}

/**
 * A value as text in a Markdown table cell: every character that starts markup (HTML tags and
 * comments, links, emphasis, code spans, entities, the cell separator) is escaped with a
 * backslash, which CommonMark and GitHub allow before any ASCII punctuation. The report is posted
 * on pull requests: a value such as an interface regex must read as written, never render.
 */
export function markdownText(text: string): string {
  return text.replace(/[\\`*_[\]<>&|~#!{}]/g, "\\$&");
}

function renderTable(table: Table, format: ReportFormat): string {
  const cells = [table.head, ...table.rows].map((row) => row.map(String));
  if (format === "markdown") {
    const line = (row: string[]) => `| ${row.map(markdownText).join(" | ")} |`;
    return [`### ${table.title}`, "", line(cells[0]!), `|${cells[0]!.map(() => "---").join("|")}|`, ...cells.slice(1).map(line)].join("\n");
  }
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [table.title, "=".repeat(table.title.length), line(cells[0]!), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)].join("\n");
}

export function renderReport(plan: ClusterPlan, format: ReportFormat = "markdown"): string {
  const { config, mtu } = plan;
  const tables: Table[] = [];

  tables.push({
    title: "Proxmox host networks",
    head: ["node", "interface", "kind", "ports / slaves", "address", "gateway", "MTU"],
    rows: plan.hosts.flatMap((host) =>
      host.interfaces.map((i) => {
        const c = i.config;
        const lower = c.kind === "bridge" ? c.ports.join(" ") || "none" : c.kind === "bond" ? `${c.slaves.join(" ")} (${c.mode})` : "";
        const kind = c.kind === "bridge" && c.network ? `bridge (${c.network})` : c.kind;
        // Dual-stack: the IPv6 address and gateway beside the IPv4 ones.
        const both = (v4: string | undefined, v6: string | undefined) => [v4, v6].filter((v) => v).join(", ");
        return [host.name, i.name, kind, lower, both(i.address, i.address6), both(i.gateway, i.gateway6), i.mtu];
      }),
    ),
  });

  tables.push({
    title: "Node VMs",
    head: ["VM", "id", "role", "node", "vCPUs", "memory", "NIC", "bridge", "MTU", "queues", "MAC", "IP"],
    rows: plan.vms.flatMap((vm) =>
      vm.nics.map((nic, n) => [
        n === 0 ? vm.name : "",
        n === 0 ? vm.id : "",
        n === 0 ? vm.role : "",
        n === 0 ? vm.node : "",
        n === 0 ? vm.vcpus : "",
        n === 0 ? `${vm.memory} MiB` : "",
        `${nic.guestName} (${nic.role})`,
        nic.bridge,
        nic.mtu,
        nic.queues,
        nic.mac,
        `${nic.ip}/${nic.prefix}${nic.gateway ? ` via ${nic.gateway}` : ""}${nic.ip6 ? `, ${nic.ip6}/${nic.prefix6}${nic.gateway6 ? ` via ${nic.gateway6}` : ""}` : ""}`,
      ]),
    ),
  });

  const { internalNic } = mtu;
  tables.push({
    title: "MTU chain (internal network)",
    head: ["link", "MTU", "why"],
    rows: [
      ["underlay (switch path)", mtu.underlay.internal, mtu.jumboFrames.internal ? "networks.internal.mtu, jumbo frames declared" : "networks.internal.mtu"],
      ["host NIC and bridge", Math.min(...plan.hosts.map((h) => h.bridges.internal.mtu)), "derived from the underlay"],
      ["VM NIC", internalNic, "the bridge MTU unless overridden, never above it"],
      [
        "overlay (pods)",
        mtu.overlay,
        `${mtu.encapsulation} costs ${mtu.overheadByFamily && mtu.overheadByFamily.ipv4 !== mtu.overheadByFamily.ipv6 ? `${mtu.overheadByFamily.ipv4} bytes over IPv4 and ${mtu.overheadByFamily.ipv6} over IPv6, the pods' one MTU fits both` : `${mtu.overhead} bytes`}: ${internalNic} - ${mtu.overhead}${mtu.overlay < mtu.maxOverlay ? `, lowered by kubernetes.cni.overlayMtu` : ""}`,
      ],
    ],
  });

  const cni = config.kubernetes.cni;
  const k8s = plan.kubernetesNetwork;
  tables.push({
    title: "CNI",
    head: ["plugin", "backend / encapsulation", "interface selection", "pod CIDR", "service CIDR", "node mask"],
    rows: [
      [
        cni.plugin,
        cni.plugin === "flannel"
          ? cni.flannel.backend
          : cni.plugin === "calico"
            ? cni.calico.encapsulation
            : `${cni.cilium.routingMode}${cni.cilium.routingMode === "tunnel" ? ` (${cni.cilium.tunnelProtocol})` : ""}${cni.cilium.kubeProxyReplacement ? ", kube-proxy replacement" : ""}`,
        cni.plugin === "flannel"
          ? flannelInterfaceArg(plan.cni.flannelInterface!)
          : cni.plugin === "calico"
            ? [plan.cni.calicoAutodetection!, ...(plan.cni.calicoAutodetection6 ? [plan.cni.calicoAutodetection6] : [])]
                .map((method) => Object.entries(method).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : v}`).join(""))
                .join("; ")
            : `node IP: the kubelet's node-ip; devices: ${plan.cni.ciliumDevices?.join(", ") ?? "detected by Cilium"}`,
        // Dual-stack: both families, IPv4 first, as kubeadm has them.
        k8s.podSubnets.join(", "),
        k8s.serviceSubnets.join(", "),
        [k8s.nodeCidrMaskSize, ...(k8s.nodeCidrMaskSize6 !== undefined ? [k8s.nodeCidrMaskSize6] : [])].map((m) => `/${m}`).join(", "),
      ],
    ],
  });

  // What the CNI puts on the internal network, per pod address family (config/cni).
  const familyRow = (family: "IPv4" | "IPv6", pods: string, underlay: string, overhead: number) => [
    family,
    pods,
    underlay,
    plan.cni.encapsulation === "none" ? "none (routed)" : plan.cni.encapsulation,
    overhead,
    `${mtu.overlay} + ${overhead} = ${mtu.overlay + overhead}`,
  ];
  const internal6 = plan.ipv6?.subnets.internal?.cidr;
  tables.push({
    title: "CNI on the wire (internal network)",
    head: ["pods", "pod network", "between nodes over", "encapsulation", "overhead (bytes)", "largest pod packet on the wire"],
    rows: [
      familyRow("IPv4", k8s.podSubnets[0]!, `IPv4 ${plan.subnets.internal.cidr}`, mtu.overheadByFamily?.ipv4 ?? mtu.overhead),
      ...(k8s.dualStack
        ? [familyRow("IPv6", k8s.podSubnets[1]!, plan.cni.ipv6Underlay === "ipv6" ? `IPv6 ${internal6}` : `IPv4 ${plan.subnets.internal.cidr}`, mtu.overheadByFamily!.ipv6)]
        : []),
      ["flows between nodes", plan.cni.peerFlows.map((f) => `${f.proto === "4" ? "IP protocol 4" : f.proto}${f.port ? ` ${f.port}` : ""} (${f.name})`).join("; ") || "none", "", "", "", ""],
    ],
  });

  const api = plan.apiServer;
  const byRole = (role: "control-plane" | "worker") =>
    `security group ${securityGroupName(plan, role)}: ` + firewallRules(plan, role).map((r) => `${r.iface ? `${r.iface} ` : ""}${r.proto}${r.dport ? ` ${r.dport}` : ""} from ${r.source}${r.dest ? ` to ${r.dest}` : ""}`).join("; ");
  tables.push({
    title: "Kubernetes API and firewall",
    head: ["what", "value"],
    rows: [
      ["API endpoint", `${api.endpoint}${api.vip ? " (kube-vip VIP on the internal NIC)" : " (the only control plane)"}`],
      ["kubectl from the external network", api.external ? "allowed" : "not allowed"],
      ...(plan.loadBalancer
        ? [["LoadBalancer services", `${plan.loadBalancer.ranges.join(", ")} (${plan.loadBalancer.size} address${plan.loadBalancer.size === 1 ? "" : "es"}), held by kube-vip on the control planes' external NIC`]]
        : []),
      [
        "VM firewall",
        config.firewall.enabled
          ? `on: inbound DROP unless a rule accepts (${config.firewall.datacenterEnabled ? "the datacenter firewall is on, says firewall.datacenterEnabled" : "acts once the datacenter firewall is on"})`
          : "off",
      ],
      ...(config.firewall.enabled
        ? [
            ...rolesOf(plan).map((role) => [`${role} inbound`, byRole(role)]),
          ]
        : []),
    ],
  });

  const title = `pve-dualnet plan: ${config.name}`;
  const heading = format === "markdown" ? `## ${title}` : `${title}\n${"#".repeat(title.length)}`;
  return [heading, ...tables.map((t) => renderTable(t, format))].join("\n\n") + "\n";
}
