/**
 * Dual-stack (issue 22 item 1): which IPv6 a description turns on, with its defaults, decided
 * once for validation (config/validate-ipv6.ts) and the plan (config/plan.ts). IPv4 stays the
 * primary family: IPv6 is additive, and a description without it plans as before.
 *
 * - networks.external.ipv6: IPv6 on the external network (its gateway the one IPv6 default route).
 * - networks.internal.ipv6 (needs the external one): IPv6 on the internal network, which makes
 *   Kubernetes dual-stack: the kubelet's node-ip pair is on the internal NIC, and the pod and
 *   service networks come in pairs, IPv4 first.
 *
 * Sources of the defaults: kube-controller-manager's --node-cidr-mask-size-ipv6 defaults to 64
 * ("IPv4/IPv6 dual-stack", kubernetes.io/docs/concepts/services-networking/dual-stack), and its
 * CIDR allocator takes node subnets at most 16 bits longer than the cluster CIDR
 * (pkg/controller/nodeipam/ipam/cidrset/cidr_set.go, clusterSubnetMaxDiff = 16); kube-apiserver
 * refuses an IPv6 service range shorter than /108 ("specified --service-cluster-ip-range is too
 * large; for 128-bit addresses, the mask must be >= 108", cmd/kube-apiserver/app/options
 * validation, at most 20 host bits); the IPv6 pod and service networks are kind's dual-stack
 * defaults (fd00:10:244::/56, fd00:10:96::/112), unique local addresses (RFC 4193); Calico's
 * IPv6 block size defaults to 122 (IPPool reference, docs.tigera.io).
 */
import type { ClusterConfig } from "./schema";

/** The IPv6 pod network when the description names none. */
export const DEFAULT_POD_CIDR6 = "fd00:10:244::/56";
/** The IPv6 service network when the description names none. */
export const DEFAULT_SERVICE_CIDR6 = "fd00:10:96::/112";
/** kube-controller-manager's --node-cidr-mask-size-ipv6 default. */
export const DEFAULT_NODE_CIDR_MASK_SIZE6 = 64;
/** kube-apiserver: an IPv6 service range has at most 20 host bits. */
export const MIN_SERVICE_PREFIX6 = 108;
/** kube-controller-manager: node subnets at most 16 bits longer than the cluster CIDR. */
export const MAX_NODE_MASK_DIFF = 16;
/** Calico's default IPv6 IPAM block size. */
export const DEFAULT_CALICO_BLOCK_SIZE6 = 122;
/** The smallest MTU of any IPv6 link (RFC 8200 section 5). */
export const IPV6_MIN_MTU = 1280;
/**
 * The prefixes an IPv6 network of hosts and VMs may have: a link prefix is /64 by the IPv6
 * addressing architecture (RFC 4291 section 2.5.1, 64-bit interface identifiers; SLAAC needs it),
 * so nothing shorter; longer ones work with static addresses, down to /120 (256 addresses).
 */
export const NETWORK_PREFIX6 = { min: 64, max: 120 } as const;

/** What IPv6 the description turns on, with every default applied; undefined without any. */
export interface DualStack {
  /** networks.external.ipv6.cidr as written. */
  readonly external: string;
  /** networks.internal.ipv6.cidr as written, when the internal network has IPv6. */
  readonly internal?: string;
  /** Kubernetes dual-stack (the internal network has IPv6): its IPv6 networks and node mask. */
  readonly kubernetes?: { readonly podCidr: string; readonly serviceCidr: string; readonly nodeCidrMaskSize: number };
}

/** The fields that use IPv6 (a network, a VM, a host, a DNS server, a firewall source), in description order; none without IPv6. */
export function ipv6Fields(config: ClusterConfig): string[] {
  const n = config.networks;
  const k = config.kubernetes;
  return [
    ...config.proxmox.nodes.flatMap((node, i) =>
      node.interfaces.flatMap((iface, j) => [
        ...(iface.address6 !== undefined ? [`proxmox.nodes[${i}].interfaces[${j}].address6`] : []),
        ...(iface.gateway6 !== undefined ? [`proxmox.nodes[${i}].interfaces[${j}].gateway6`] : []),
      ]),
    ),
    ...(["external", "internal"] as const).flatMap((role) => [
      ...(n[role].ipv6 !== undefined ? [`networks.${role}.ipv6`] : []),
      ...n[role].dns.flatMap((ip, i) => (ip.includes(":") ? [`networks.${role}.dns[${i}]`] : [])),
    ]),
    ...config.vms.flatMap((vm, i) => [
      ...(vm.ip.external6 !== undefined ? [`vms[${i}].ip.external6`] : []),
      ...(vm.ip.internal6 !== undefined ? [`vms[${i}].ip.internal6`] : []),
    ]),
    ...(k.podCidr6 !== undefined ? ["kubernetes.podCidr6"] : []),
    ...(k.serviceCidr6 !== undefined ? ["kubernetes.serviceCidr6"] : []),
    ...(config.firewall.ssh ?? []).flatMap((c, i) => (c.includes(":") ? [`firewall.ssh[${i}]`] : [])),
    ...config.firewall.rules.flatMap((r, i) => (r.from.includes(":") ? [`firewall.rules[${i}].from`] : [])),
  ];
}

/** Whether the description uses IPv6 anywhere. */
export function usesIpv6(config: ClusterConfig): boolean {
  return ipv6Fields(config).length > 0;
}

/** The description's dual-stack with defaults; undefined when the external network has no IPv6. */
export function dualStackOf(config: ClusterConfig): DualStack | undefined {
  const external = config.networks.external.ipv6;
  if (!external) return undefined;
  const internal = config.networks.internal.ipv6;
  const k = config.kubernetes;
  return {
    external: external.cidr,
    ...(internal
      ? {
          internal: internal.cidr,
          kubernetes: {
            podCidr: k.podCidr6 ?? DEFAULT_POD_CIDR6,
            serviceCidr: k.serviceCidr6 ?? DEFAULT_SERVICE_CIDR6,
            nodeCidrMaskSize: k.nodeCidrMaskSize6 ?? DEFAULT_NODE_CIDR_MASK_SIZE6,
          },
        }
      : {}),
  };
}
