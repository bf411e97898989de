/**
 * sysctl.d files for Proxmox hosts and Kubernetes nodes, every value commented with why.
 * Pure: config in, files out. The same entries drive the read-back check after
 * `sysctl --system`, so what is written is what is verified.
 */
import type { ClusterPlan } from "../config/plan";
import type { ClusterConfig } from "../config/schema";

export interface SysctlEntry {
  readonly key: string;
  readonly value: number;
  readonly why: string;
}

export interface SysctlFile {
  /** File name under /etc/sysctl.d/ */
  readonly name: string;
  readonly title: string;
  readonly entries: readonly SysctlEntry[];
}

export type SysctlTarget = "host" | "node";

/** Kernel modules a set of files needs loaded before `sysctl --system` can set them. */
export function requiredModules(files: readonly SysctlFile[]): string[] {
  const keys = files.flatMap((f) => f.entries.map((e) => e.key));
  return keys.some((k) => k.startsWith("net.bridge.")) ? ["br_netfilter"] : [];
}

/** What IPv6 the cluster uses, from the plan (plan.ipv6). */
export interface SysctlIpv6 {
  /** IPv6 is in use (networks.external.ipv6): IPv6 is never disabled then. */
  readonly used: boolean;
  /** Kubernetes is dual-stack (networks.internal.ipv6): the nodes route IPv6 pods and services too. */
  readonly kubernetes: boolean;
}

const NO_IPV6: SysctlIpv6 = { used: false, kubernetes: false };

/**
 * The sysctl files of a host or a node. With IPv6 in use, disable-ipv6.conf is never written
 * (validation refuses sysctl.disableIpv6 with IPv6 already, config/validate-ipv6.ts; this keeps
 * the renderer safe on its own). With Kubernetes dual-stack the nodes forward IPv6 as they
 * forward IPv4: kubeadm's preflight requires /proc/sys/net/ipv6/conf/default/forwarding = 1 once a
 * pod or service subnet is IPv6 (cmd/kubeadm/app/preflight/checks.go InitNodeChecks,
 * addIPv6Checks, "FileContent--proc-sys-net-ipv6-conf-default-forwarding"), and Calico's IPv6
 * host requirements name net.ipv6.conf.all.forwarding = 1.
 */
export function sysctlFiles(sysctl: ClusterConfig["sysctl"], target: SysctlTarget, ipv6: SysctlIpv6 = NO_IPV6): SysctlFile[] {
  const s = sysctl[target];
  const rpWhy = [
    "reverse-path filter: 0 off, 1 strict, 2 loose.",
    s.rpFilter === 2
      ? "Loose: with two bridges, replies may return on the other network; strict mode drops them (ICMP replies, VXLAN)."
      : s.rpFilter === 1
        ? "Strict: drops packets arriving on an interface the reply would not leave by."
        : "Off: no reverse-path check.",
  ].join(" ");
  const base: SysctlEntry[] = [
    {
      key: "net.ipv4.ip_forward",
      value: s.ipForward ? 1 : 0,
      why: target === "host" ? "forward between bridges and the uplink (routed/NAT layouts, overlay traffic)" : "pods and services are routed through the node; every CNI overlay needs it",
    },
    ...(s.bridgeNfCallIptables
      ? [{ key: "net.bridge.bridge-nf-call-iptables", value: 1, why: "bridged traffic passes iptables, so firewall and kube-proxy rules see it (needs br_netfilter)" }]
      : []),
    { key: "net.ipv4.conf.all.rp_filter", value: s.rpFilter, why: rpWhy },
    { key: "net.ipv4.conf.default.rp_filter", value: s.rpFilter, why: "the same for interfaces created later (bridges, VXLAN, veth)" },
    ...(target === "node" && ipv6.kubernetes
      ? [
          ...(s.bridgeNfCallIptables
            ? [{ key: "net.bridge.bridge-nf-call-ip6tables", value: 1, why: "dual-stack: bridged IPv6 traffic passes ip6tables too, so kube-proxy's IPv6 rules see it (needs br_netfilter)" }]
            : []),
          {
            key: "net.ipv6.conf.all.forwarding",
            value: 1,
            why: "dual-stack: IPv6 pods and services are routed through the node (kubeadm's preflight checks it). The node's addresses are static, so it needs no router advertisements, which forwarding ignores",
          },
          { key: "net.ipv6.conf.default.forwarding", value: 1, why: "the same for interfaces created later (VXLAN, veth); kubeadm's preflight reads this one" },
        ]
      : []),
  ];
  const files: SysctlFile[] = [
    target === "host"
      ? { name: "99-proxmox-network.conf", title: "Proxmox host network", entries: base }
      : { name: "99-k8s.conf", title: "Kubernetes node", entries: base },
  ];
  if (sysctl.disableIpv6 && !ipv6.used) {
    files.push({
      name: "disable-ipv6.conf",
      title: "IPv6 disabled (Proxmox recommends keeping it; set sysctl.disableIpv6: false to keep it)",
      entries: [
        { key: "net.ipv6.conf.all.disable_ipv6", value: 1, why: "no IPv6 on existing interfaces" },
        { key: "net.ipv6.conf.default.disable_ipv6", value: 1, why: "no IPv6 on interfaces created later" },
      ],
    });
  }
  if (sysctl.tuning) {
    const t = sysctl.tuning;
    files.push({
      name: "99-network-tuning.conf",
      title: "Network tuning for busy clusters",
      entries: [
        { key: "net.core.somaxconn", value: t.somaxconn, why: "longer accept queues for API servers and ingress" },
        { key: "net.core.netdev_max_backlog", value: t.netdevMaxBacklog, why: "more packets queued per CPU before drops at high rates" },
        { key: "net.ipv4.tcp_max_syn_backlog", value: t.tcpMaxSynBacklog, why: "more half-open connections under connection bursts" },
        { key: "net.ipv4.tcp_tw_reuse", value: t.tcpTwReuse, why: "reuse TIME-WAIT sockets for new outgoing connections" },
        { key: "net.ipv4.tcp_fin_timeout", value: t.tcpFinTimeout, why: "release FIN-WAIT-2 sockets sooner" },
      ],
    });
  }
  return files;
}

export function renderSysctlFile(file: SysctlFile): string {
  const lines = [`# /etc/sysctl.d/${file.name}: ${file.title}.`, "# Generated by pve-dualnet; applied with `sysctl --system`."];
  for (const entry of file.entries) {
    lines.push("", `# ${entry.why}`, `${entry.key} = ${entry.value}`);
  }
  return lines.join("\n") + "\n";
}

/** The IPv6 the plan uses, for sysctlFiles. */
export const sysctlIpv6 = (plan: Pick<ClusterPlan, "ipv6" | "kubernetesNetwork">): SysctlIpv6 => ({ used: plan.ipv6 !== undefined, kubernetes: plan.kubernetesNetwork.dualStack });
