/**
 * The cross-field checks of IPv6 (dual-stack, config/dual-stack.ts): the IPv6 networks (form,
 * kind, prefix, overlaps), the gateway, every VM's and host's IPv6 address, DNS servers and
 * firewall sources of IPv6, Kubernetes' IPv6 pod and service networks, the CNI's support, MTUs
 * and the sysctl that would turn IPv6 off. A description without IPv6 gets no problem here.
 */
import { canonicalIpv6, contains6, ipv6Unusable, isCanonicalSubnet6, isIpv4MappedSubnet, isSubnetRouterAnycast, overlaps6, parseSubnet6, splitAddress, subnetCount6, type Subnet } from "./ip";
import { DEFAULT_CALICO_BLOCK_SIZE6, dualStackOf, IPV6_MIN_MTU, ipv6Fields, MAX_NODE_MASK_DIFF, MIN_SERVICE_PREFIX6, NETWORK_PREFIX6 } from "./dual-stack";
import { roleBridge } from "./mtu";
import type { ResolvedCluster } from "./resolve";
import { NETWORK_ROLES, type ClusterConfig, type NetworkRole } from "./schema";
import type { Report } from "./checks";

/** The IPv6 subnets of the description, as parsed (one missing where it is absent or malformed). */
export type Subnets6 = Partial<Record<NetworkRole | "pod" | "service", Subnet>>;

export function checkIpv6(config: ClusterConfig, resolved: ResolvedCluster, report: Report) {
  const fields = ipv6Fields(config);
  if (fields.length === 0) return;
  const n = config.networks;
  const k = config.kubernetes;

  if (config.sysctl.disableIpv6) {
    const named = `${fields[0]}${fields.length > 1 ? ` (and ${fields.length - 1} more field${fields.length > 2 ? "s" : ""})` : ""}`;
    report("sysctl.disableIpv6", `is true, but ${named} uses IPv6: the sysctl would turn IPv6 off on hosts and nodes`, `set sysctl.disableIpv6: false, or remove the IPv6 of ${fields[0]}`);
  }
  if (n.internal.ipv6 && !n.external.ipv6) {
    report("networks.internal.ipv6", "IPv6 on the internal network needs IPv6 on the external network: the one IPv6 default route of hosts and VMs is there (and flannel wants one of each family)", "add networks.external.ipv6 { cidr, gateway }, or remove networks.internal.ipv6");
  }
  for (const [field, value] of [["podCidr6", k.podCidr6], ["serviceCidr6", k.serviceCidr6], ["nodeCidrMaskSize6", k.nodeCidrMaskSize6]] as const) {
    if (value !== undefined && !n.internal.ipv6) report(`kubernetes.${field}`, "is set, but Kubernetes runs dual-stack only when the internal network has IPv6 (the node-ip pair is on the internal NIC)", "add networks.internal.ipv6, or remove it");
  }
  if (k.cni.calico.blockSize6 !== undefined && !n.internal.ipv6) {
    report("kubernetes.cni.calico.blockSize6", "is set, but there is no IPv6 pool without networks.internal.ipv6", "add networks.internal.ipv6, or remove it");
  }

  const subnets = checkSubnets6(config, report);
  checkGateways6(config, subnets, report);
  const taken = checkAddresses6(config, resolved, subnets, report);
  const gw = n.external.ipv6?.gateway;
  // A VM cannot be the gateway; a host bridge can (routed and NAT layouts: the host routes for
  // its VMs, as networks.external.gateway may be the host's vmbr0 address in IPv4).
  if (gw && subnets.external && contains6(subnets.external, gw) && taken.get(canonicalIpv6(gw))?.startsWith("vms[")) {
    report("networks.external.ipv6.gateway", `${gw} is also the address of ${taken.get(canonicalIpv6(gw))}`, "give the gateway an address no host interface or VM has");
  }

  [...n.external.dns].forEach((ip, i) => {
    if (!ip.includes(":")) return;
    const where = `networks.external.dns[${i}]`;
    const unusable = ipv6Unusable(ip);
    if (!n.external.ipv6) report(where, `${ip} is an IPv6 server, but the VMs have no IPv6 (networks.external.ipv6 is not set)`, "use an IPv4 server, or add networks.external.ipv6");
    else if (unusable) report(where, `${ip} is ${unusable}`, "use a global or unique local address of the DNS server");
  });
  n.internal.dns.forEach((ip, i) => {
    if (ip.includes(":") && !n.internal.ipv6) report(`networks.internal.dns[${i}]`, `${ip} is an IPv6 server, but the internal network has no IPv6`, "use an IPv4 server, or add networks.internal.ipv6");
  });

  const sources: [string, string][] = [
    ...(config.firewall.ssh ?? []).map((cidr, i): [string, string] => [`firewall.ssh[${i}]`, cidr]),
    ...config.firewall.rules.map((r, i): [string, string] => [`firewall.rules[${i}].from`, r.from]),
  ];
  for (const [where, cidr] of sources) {
    if (!cidr.includes(":")) continue;
    if (!n.external.ipv6 && !n.internal.ipv6) {
      report(where, `${cidr} is an IPv6 network, but the VMs have no IPv6 address: the rule would admit nothing`, "remove it, or add networks.external.ipv6");
    } else if (isIpv4MappedSubnet(cidr)) {
      // An IPv4 packet never meets an IPv6 rule: ::ffff:1.2.3.0/120 admits nothing.
      report(where, `${cidr} is an IPv4-mapped IPv6 network: IPv4 packets never match an IPv6 rule, so it admits nothing`, "write the IPv4 network instead, e.g. 1.2.3.0/24");
    } else if (!isCanonicalSubnet6(cidr)) {
      report(where, `${cidr} has host bits set`, `write the network address: ${parseSubnet6(cidr).cidr}`);
    }
  }

  checkKubernetes6(config, subnets, report);
  checkMtus6(config, resolved, report);
}

/** The IPv6 networks: canonical, of a usable kind, sized, and apart from each other. */
function checkSubnets6(config: ClusterConfig, report: Report): Subnets6 {
  const ds = dualStackOf(config);
  const named: [keyof Subnets6, string, string | undefined][] = [
    ["external", "networks.external.ipv6.cidr", config.networks.external.ipv6?.cidr],
    ["internal", "networks.internal.ipv6.cidr", config.networks.internal.ipv6?.cidr],
    ["pod", config.kubernetes.podCidr6 ? "kubernetes.podCidr6" : "kubernetes.podCidr6 (default)", ds?.kubernetes?.podCidr],
    ["service", config.kubernetes.serviceCidr6 ? "kubernetes.serviceCidr6" : "kubernetes.serviceCidr6 (default)", ds?.kubernetes?.serviceCidr],
  ];
  const subnets: Subnets6 = {};
  const present: [keyof Subnets6, string][] = [];
  for (const [key, where, cidr] of named) {
    if (cidr === undefined) continue;
    const path = where.replace(/ \(default\)$/, "");
    const subnet = parseSubnet6(cidr);
    if (!isCanonicalSubnet6(cidr)) report(path, `${cidr} has host bits set`, `write the network address: ${subnet.cidr}`);
    const unusable = ipv6Unusable(subnet.network);
    if (unusable) {
      report(path, `${subnet.cidr} is ${unusable}: only global unicast (2000::/3) and unique local (fc00::/7) networks can be a cluster's`, "use a prefix assigned to you, or a unique local one such as fd<40 random bits>::/64 (RFC 4193)");
    }
    if ((key === "external" || key === "internal") && (subnet.prefix < NETWORK_PREFIX6.min || subnet.prefix > NETWORK_PREFIX6.max)) {
      report(path, `/${subnet.prefix} is not a prefix for a network of hosts and VMs: IPv6 links are /64 (RFC 4291, 64-bit interface identifiers)`, `use a prefix from /${NETWORK_PREFIX6.min} to /${NETWORK_PREFIX6.max}, e.g. ${parseSubnet6(`${subnet.network}/64`).cidr}`);
    }
    subnets[key] = subnet;
    present.push([key, where]);
  }
  for (let a = 0; a < present.length; a++) {
    for (let b = a + 1; b < present.length; b++) {
      const [ka, wa] = present[a]!;
      const [kb, wb] = present[b]!;
      if (overlaps6(subnets[ka]!, subnets[kb]!)) {
        report(wb.replace(/ \(default\)$/, ""), `${subnets[kb]!.cidr} overlaps ${wa} ${subnets[ka]!.cidr}`, "give the external, internal, pod and service IPv6 networks disjoint ranges");
      }
    }
  }
  return subnets;
}

function checkGateways6(config: ClusterConfig, subnets: Subnets6, report: Report) {
  const ext = config.networks.external.ipv6;
  if (ext) {
    if (!ext.gateway) {
      report("networks.external.ipv6.gateway", "the external network's IPv6 needs a gateway: the one IPv6 default route of hosts and VMs", `set it to the router's address inside ${subnets.external?.cidr ?? ext.cidr}`);
    } else {
      checkAddressIn6(ext.gateway, "networks.external.ipv6.gateway", "external", subnets, report);
    }
  }
  if (config.networks.internal.ipv6?.gateway) {
    report("networks.internal.ipv6.gateway", "the internal network must not have a gateway: it would add a second IPv6 default route", "remove networks.internal.ipv6.gateway; the only IPv6 gateway is on the external network");
  }
}

/** An IPv6 address inside its network's IPv6 subnet, and not its subnet-router anycast address. */
function checkAddressIn6(ip: string, path: string, role: NetworkRole, subnets: Subnets6, report: Report) {
  const subnet = subnets[role];
  if (!subnet) return;
  if (!contains6(subnet, ip)) report(path, `${ip} is outside the ${role} IPv6 network ${subnet.cidr}`, `use an address inside ${subnet.cidr}`);
  else if (isSubnetRouterAnycast(subnet, ip)) report(path, `${ip} is the subnet-router anycast address of ${subnet.cidr} (RFC 4291), which every router of the link answers`, "use a host address");
}

/**
 * Every VM's and host's IPv6 address: present exactly where its network has IPv6, inside it,
 * and unique. Returns the taken addresses (canonical) with their owners.
 */
function checkAddresses6(config: ClusterConfig, resolved: ResolvedCluster, subnets: Subnets6, report: Report): Map<string, string> {
  const taken = new Map<string, string>();
  const claim = (ip: string, where: string, owner: string) => {
    const key = canonicalIpv6(ip);
    const other = taken.get(key);
    if (other) report(where, `${ip} is already used by ${other}`, "give every interface its own IPv6 address");
    else taken.set(key, owner);
  };

  config.proxmox.nodes.forEach((node, n) => {
    const gateways = node.interfaces.filter((i) => i.gateway6 !== undefined);
    node.interfaces.forEach((iface, i) => {
      const p = `proxmox.nodes[${n}].interfaces[${i}]`;
      const network = "network" in iface ? iface.network : undefined;
      if (iface.address6) {
        const { ip, prefix } = splitAddress(iface.address6);
        const subnet = network ? subnets[network] : undefined;
        if (network && !config.networks[network].ipv6) {
          report(`${p}.address6`, `${iface.name} belongs to the ${network} network, which has no IPv6`, `add networks.${network}.ipv6, or remove address6`);
        } else if (network && subnet) {
          checkAddressIn6(ip, `${p}.address6`, network, subnets, report);
          if (prefix !== undefined && prefix !== subnet.prefix) report(`${p}.address6`, `prefix /${prefix} differs from networks.${network}.ipv6.cidr ${subnet.cidr}`, `write ${ip} (the prefix comes from the network) or ${ip}/${subnet.prefix}`);
        } else if (!network && prefix === undefined) {
          report(`${p}.address6`, `${ip} has no prefix and the interface belongs to no network`, `write it as ${ip}/64 (its prefix) or set network`);
        }
        const unusable = ipv6Unusable(ip);
        if (!network && unusable) report(`${p}.address6`, `${ip} is ${unusable}`, "use a global or unique local address");
        claim(ip, `${p}.address6`, `proxmox.nodes[${n}] ${iface.name}`);
      }
      if (iface.gateway6) {
        if (network === "internal") report(`${p}.gateway6`, "the internal network must not carry a gateway", "put the IPv6 gateway on the external bridge (or the uplink in routed/NAT layouts)");
        if (!iface.address6) report(`${p}.gateway6`, `${iface.name} has an IPv6 gateway but no address6`, "give the interface an IPv6 address in the gateway's network");
        else {
          const { ip, prefix } = splitAddress(iface.address6);
          const own = prefix !== undefined ? parseSubnet6(`${ip}/${prefix}`) : network ? subnets[network] : undefined;
          if (own && !contains6(own, iface.gateway6)) report(`${p}.gateway6`, `gateway ${iface.gateway6} is outside ${own.cidr}, the IPv6 subnet of ${iface.name}`, `use a gateway inside ${own.cidr}`);
        }
      }
    });
    if (gateways.length > 1) {
      const at = node.interfaces.indexOf(gateways[1]!);
      report(`proxmox.nodes[${n}].interfaces[${at}].gateway6`, `${gateways.map((g) => g.name).join(" and ")} both set an IPv6 default gateway`, "keep exactly one IPv6 default gateway per host, on the external side");
    }
    const external = roleBridge(node, "external");
    if (external?.address6 && config.networks.external.ipv6?.gateway && gateways.length === 0 && canonicalIpv6(splitAddress(external.address6).ip) === canonicalIpv6(config.networks.external.ipv6.gateway)) {
      report(`proxmox.nodes[${n}].interfaces[${node.interfaces.indexOf(external)}].address6`, "is the external network's IPv6 gateway, so the host has no IPv6 default route", "set gateway6 on the uplink that holds the public IPv6 address (routed and NAT layouts)");
    }
  });

  for (const { config: vm, index } of resolved.vms) {
    for (const role of NETWORK_ROLES) {
      const field = role === "external" ? "external6" : "internal6";
      const where = `vms[${index}].ip.${field}`;
      const ip = vm.ip[field];
      const network = config.networks[role].ipv6;
      if (network && ip === undefined) {
        report(where, `the ${role} network has IPv6 (networks.${role}.ipv6), so every VM needs an address there: pve-dualnet assigns addresses statically and never leaves one to router advertisements`, `add ip.${field}, an address inside ${subnets[role]?.cidr ?? network.cidr}`);
      } else if (!network && ip !== undefined) {
        report(where, `the ${role} network has no IPv6 (networks.${role}.ipv6 is not set)`, `add networks.${role}.ipv6, or remove ip.${field}`);
      } else if (ip !== undefined) {
        checkAddressIn6(ip, where, role, subnets, report);
        claim(ip, where, `vms[${index}].ip.${field} (${vm.name})`);
      }
    }
  }
  return taken;
}

/** Kubernetes' IPv6 networks: sizes Kubernetes accepts, room for every node, and what the CNI can do. */
function checkKubernetes6(config: ClusterConfig, subnets: Subnets6, report: Report) {
  const ds = dualStackOf(config);
  const k8s = ds?.kubernetes;
  if (!k8s) return;
  const k = config.kubernetes;
  const podPath = k.podCidr6 ? "kubernetes.podCidr6" : "kubernetes.podCidr6 (default)";
  const maskPath = k.nodeCidrMaskSize6 !== undefined ? "kubernetes.nodeCidrMaskSize6" : "kubernetes.nodeCidrMaskSize6 (default 64)";
  const pod = subnets.pod;
  if (pod) {
    const mask = k8s.nodeCidrMaskSize;
    if (mask < pod.prefix) {
      report(k.nodeCidrMaskSize6 !== undefined ? "kubernetes.nodeCidrMaskSize6" : "kubernetes.podCidr6", `/${mask} per node (${maskPath}) is larger than the whole IPv6 pod network ${pod.cidr} (${podPath})`, `use a pod network of /${Math.max(mask - 8, 0)} or a node mask of at least /${pod.prefix}`);
    } else if (mask - pod.prefix > MAX_NODE_MASK_DIFF) {
      report(k.podCidr6 ? "kubernetes.podCidr6" : "kubernetes.nodeCidrMaskSize6", `${pod.cidr} is ${mask - pod.prefix} bits shorter than the /${mask} node subnets (${maskPath}): kube-controller-manager allows at most ${MAX_NODE_MASK_DIFF}`, `use a pod network of /${mask - MAX_NODE_MASK_DIFF} or longer (e.g. /${mask - 8}), or a shorter nodeCidrMaskSize6`);
    } else {
      const capacity = subnetCount6(pod, mask);
      if (capacity < config.vms.length) {
        report(k.podCidr6 ? "kubernetes.podCidr6" : "kubernetes.nodeCidrMaskSize6", `${pod.cidr} holds only ${capacity} node subnets of /${mask}, but there are ${config.vms.length} nodes`, `widen the IPv6 pod network (e.g. /${mask - Math.ceil(Math.log2(config.vms.length))}) or raise nodeCidrMaskSize6`);
      }
    }
    if (k.cni.plugin === "calico") {
      const block = k.cni.calico.blockSize6 ?? DEFAULT_CALICO_BLOCK_SIZE6;
      if (block < pod.prefix) report(k.cni.calico.blockSize6 !== undefined ? "kubernetes.cni.calico.blockSize6" : "kubernetes.podCidr6", `/${block} IPv6 blocks are larger than the IPv6 pod network ${pod.cidr}`, `use a block size of at least /${pod.prefix}`);
    }
  }
  const service = subnets.service;
  if (service && service.prefix < MIN_SERVICE_PREFIX6) {
    report("kubernetes.serviceCidr6", `${service.cidr} is too large: kube-apiserver takes an IPv6 service range of /${MIN_SERVICE_PREFIX6} or longer (at most 20 host bits)`, `use e.g. ${parseSubnet6(`${service.network}/112`).cidr}`);
  }
  if (k.cni.plugin === "calico" && k.cni.calico.encapsulation.startsWith("IPIP")) {
    // Calico's IPPool validation: "IPIP is not supported on IPv6 pools".
    report("kubernetes.cni.calico.encapsulation", `${k.cni.calico.encapsulation} carries IPv4 only: Calico refuses IP-in-IP on an IPv6 pool, and networks.internal.ipv6 makes the cluster dual-stack`, "use VXLAN, VXLANCrossSubnet or None, or remove networks.internal.ipv6");
  }
}

/** IPv6 needs an MTU of at least 1280 on every link (RFC 8200 section 5): the VM NICs on IPv6 networks. */
function checkMtus6(config: ClusterConfig, resolved: ResolvedCluster, report: Report) {
  for (const vm of resolved.vms) {
    for (const nic of vm.nics) {
      if (!config.networks[nic.role].ipv6) continue;
      const requested = vm.config.mtu?.[nic.role];
      if (requested !== undefined && requested < IPV6_MIN_MTU) {
        report(`vms[${vm.index}].mtu.${nic.role}`, `NIC MTU ${requested} is below ${IPV6_MIN_MTU}, the smallest MTU of an IPv6 link (RFC 8200), and the ${nic.role} network has IPv6`, `use at least ${IPV6_MIN_MTU}`);
      }
    }
  }
}
