/**
 * The cross-field checks of the node VMs, on their resolution (resolve.ts): ids, names, nodes,
 * addresses, MACs, CPU, sources, disks, NIC MTUs, the control planes' placement with HA, the API
 * server VIP and the LoadBalancer pool.
 */
import { contains, formatAddressRange, ipv4ToNumber, isCanonicalSubnet, isReservedAddress, nthAddress, numberToIpv4, parseAddressRange, parseSubnet, splitAddress, subnetSize, type AddressRange, type Subnet } from "./ip";
import { apiServerVip, controlPlaneSpread, imageFileName, IMPORT_EXTENSIONS, sharedNodeFix, urlFileName } from "./plan";
import type { ResolvedCluster } from "./resolve";
import { NETWORK_ROLES, type ClusterConfig } from "./schema";
import { checkAddressIn, type Report, type Subnets } from "./checks";

export function checkVms(config: ClusterConfig, resolved: ResolvedCluster, subnets: Subnets, report: Report) {
  const nodeNames = new Set(config.proxmox.nodes.map((n) => n.name));
  const ids = new Map<number, number>();
  const names = new Map<string, number>();
  const ips = new Map<string, string>();
  const macs = new Map<string, string>();

  for (const node of config.proxmox.nodes) {
    for (const iface of node.interfaces) {
      if (iface.address) ips.set(splitAddress(iface.address).ip, `Proxmox node ${node.name} (${iface.name})`);
    }
  }
  const gw = config.networks.external.gateway;
  if (gw && !ips.has(gw)) ips.set(gw, "networks.external.gateway");

  if (!config.vms.some((vm) => vm.role === "control-plane")) {
    report("vms", "no VM has role control-plane", "give at least one VM role: control-plane (three for an HA control plane)");
  }
  // Template ids every VM's source clones: no VM may take one.
  const templates = new Map<number, string>();
  const cloneOf = (source: ClusterConfig["vmDefaults"]["source"], where: string) => {
    if (source && "clone" in source && !templates.has(source.clone.vmId)) templates.set(source.clone.vmId, `${where}.clone.vmId`);
  };
  cloneOf(config.vmDefaults.source, "vmDefaults.source");
  config.vms.forEach((vm, i) => cloneOf(vm.source, `vms[${i}].source`));
  const reportedImages = new Set<string>();

  for (const resolvedVm of resolved.vms) {
    const { config: vm, index: i } = resolvedVm;
    const p = `vms[${i}]`;
    const duplicateId = ids.has(vm.id);
    if (duplicateId) report(`${p}.id`, `VM id ${vm.id} is already used by vms[${ids.get(vm.id)}]`, "give every VM its own id");
    else ids.set(vm.id, i);
    const template = templates.get(vm.id);
    if (template) report(`${p}.id`, `VM id ${vm.id} is the id of the template the VMs clone (${template})`, "give the VM its own id: Proxmox cannot create a VM where the template is");
    if (names.has(vm.name)) report(`${p}.name`, `VM name ${vm.name} is already used by vms[${names.get(vm.name)}]`, "give every VM its own name");
    else names.set(vm.name, i);
    if (vm.node !== undefined && !nodeNames.has(vm.node)) {
      report(`${p}.node`, `Proxmox node ${vm.node} is not in proxmox.nodes`, `use one of: ${[...nodeNames].join(", ")}`);
    }

    for (const role of NETWORK_ROLES) {
      const ip = vm.ip[role];
      checkAddressIn(ip, `${p}.ip.${role}`, role, subnets, report);
      const owner = ips.get(ip);
      if (owner) report(`${p}.ip.${role}`, `${ip} is already used by ${owner}`, "give every VM NIC its own address");
      else ips.set(ip, `${p}.ip.${role} (${vm.name})`);
    }

    for (const { role, mac } of resolvedVm.nics) {
      // A derived MAC repeats when the id does: that is the id's problem, reported above.
      if (duplicateId && !vm.mac?.[role]) continue;
      const where = `${p}.mac.${role}`;
      if (parseInt(mac.slice(0, 2), 16) & 1) report(where, `${mac} is a multicast MAC address`, "use a unicast MAC (the first byte must be even)");
      const owner = macs.get(mac);
      if (owner) report(where, `MAC ${mac} is already used by ${owner}`, "give every NIC its own MAC, or drop the override to use the derived one");
      else macs.set(mac, `${p} ${role} NIC (${vm.name})`);
    }

    const { vcpus, source, disk } = resolvedVm;
    if (vcpus > 512) {
      report(`${p}.cpu`, `${vcpus} vCPUs (sockets x cores) exceeds Proxmox's limit of 512`, "lower cores or sockets");
    }
    if (!source) {
      report(`${p}.source`, "no source: the VM needs a template to clone or a cloud image", "set vmDefaults.source (or this VM's source) to { clone: { vmId } } or { image: { url } }");
    } else if ("image" in source) {
      const where = vm.source ? `${p}.source.image` : "vmDefaults.source.image";
      if (source.image.fileName === undefined && urlFileName(source.image.url) === undefined) {
        if (!reportedImages.has(where)) {
          reportedImages.add(where);
          report(`${where}.url`, "its last path segment, percent-decoded, is not a plain file name (letters, digits, '.', '_', '+', '-') or looks like a credential, and the image is stored under that name", "set fileName, e.g. noble.qcow2 (and keep credentials out of URLs)");
        }
      } else {
        const name = imageFileName(source.image);
        if (!IMPORT_EXTENSIONS.some((ext) => name.endsWith(ext)) && !reportedImages.has(where)) {
          reportedImages.add(where);
          report(`${where}.fileName`, `"${name}" does not end in ${IMPORT_EXTENSIONS.join(", ")}: Proxmox refuses to import it`, `set fileName, e.g. ${name.replace(/\.[^.]*$/, "") || "image"}.qcow2 (cloud images named .img are qcow2)`);
        }
      }
    }
    if (disk.interface.startsWith("sata") && disk.iothread) {
      report(`${p}.disk.iothread`, "iothread is not supported on SATA disks", "use a scsi or virtio disk, or set iothread: false");
    }
    if (disk.interface.startsWith("virtio") && disk.ssd) {
      report(`${p}.disk.ssd`, "SSD emulation is not supported on virtio block disks", "use a scsi disk, or set ssd: false");
    }

    for (const { role, bridge } of resolvedVm.nics) {
      const requested = vm.mtu?.[role];
      if (!bridge || requested === undefined) continue;
      if (requested > bridge.mtu) {
        report(`${p}.mtu.${role}`, `NIC MTU ${requested} is above bridge ${bridge.name} (MTU ${bridge.mtu}) on ${resolvedVm.node}`, `use at most ${bridge.mtu}, or leave it out to inherit the bridge MTU`);
      } else if (requested < 576) {
        report(`${p}.mtu.${role}`, `NIC MTU ${requested} is below the IPv4 minimum of 576`, `use a value from 576 to ${bridge.mtu}`);
      }
    }
  }
  checkApiServerVip(config, subnets, ips, report);
  checkLoadBalancer(config, subnets, ips, report);
  checkControlPlanesApart(config, resolved.vms.map((vm) => vm.node), report);
}

/**
 * With proxmox.ha, control planes are kept on separate Proxmox nodes by Proxmox itself (VE 9: a
 * negative resource-affinity rule, which Proxmox drops when node-affinity rules put two of them
 * on one node; VE 8: each restricted to its node). Pinning two to one node while another node has
 * none contradicts that: an error, with the move that fixes it. Without HA it is a warning of
 * the plan: a running cluster's description is never refused for a placement it chose on purpose.
 */
function checkControlPlanesApart(config: ClusterConfig, placement: readonly string[], report: Report) {
  if (!config.proxmox.ha.enabled) return;
  const spread = controlPlaneSpread(config, placement);
  if (!spread.separable || spread.most < 2) return;
  const [node, members] = [...spread.byNode].find(([, cps]) => cps.length >= 2)!;
  const pinned = members.filter((m) => config.vms[m.index]!.node !== undefined);
  const at = pinned[pinned.length - 1] ?? members[members.length - 1]!;
  report(
    `vms[${at.index}].node`,
    `control planes ${members.map((m) => m.name).join(", ").replace(/, ([^,]*)$/, " and $1")} are ${members.length === 2 ? "both" : "all"} on Proxmox node ${node}, but proxmox.ha keeps control planes on separate nodes and ${spread.free.join(", ")} ${spread.free.length === 1 ? "has" : "have"} none`,
    sharedNodeFix(config, spread).replace(/^Set /, "set ").replace(/\.$/, ""),
  );
}

/** The VIP is an internal address nobody else holds: every node and certificate depends on it. */
function checkApiServerVip(config: ClusterConfig, subnets: Subnets, taken: Map<string, string>, report: Report) {
  const vip = apiServerVip(config);
  if (!vip) return;
  const configured = config.kubernetes.apiServer.vip !== undefined;
  const path = "kubernetes.apiServer.vip";
  const how = configured ? "" : " (the default with two or more control planes)";
  // The suggestion is looked for only when there is something to fix.
  const fix = () => {
    const free = subnets.internal && firstFreeAddress(subnets.internal, taken, 10);
    return `set ${path} to a free internal address${free ? `, e.g. ${free}` : ""}`;
  };
  if (subnets.internal && !contains(subnets.internal, vip)) {
    report(path, `${vip} is outside the internal network ${subnets.internal.cidr}: kube-vip announces it on the internal NIC`, fix());
  } else if (subnets.internal && isReservedAddress(subnets.internal, vip)) {
    report(path, `${vip}${how} is the network or broadcast address of ${subnets.internal.cidr}`, fix());
  } else if (taken.has(vip)) {
    report(path, `${vip}${how} is already used by ${taken.get(vip)}`, fix());
  }
}

/**
 * The pool of LoadBalancer addresses: free addresses of the external network, where kube-vip
 * announces them on the external NIC. Each entry inside the network, none its network or
 * broadcast address, the gateway, a host's or a VM's address, or another entry's.
 */
function checkLoadBalancer(config: ClusterConfig, subnets: Subnets, taken: Map<string, string>, report: Report) {
  const lb = config.kubernetes.loadBalancer;
  const external = subnets.external;
  if (!lb || !external) return;
  const owners = new Map(taken);
  const vip = apiServerVip(config);
  if (vip && !owners.has(vip)) owners.set(vip, "kubernetes.apiServer.vip");
  config.proxmox.nodes.forEach((node, n) => {
    if (node.ssh.host && !owners.has(node.ssh.host)) owners.set(node.ssh.host, `proxmox.nodes[${n}].ssh.host (${node.name})`);
  });
  const takenNumbers = [...owners].map(([ip, owner]) => ({ n: ipv4ToNumber(ip), ip, owner })).sort((a, b) => a.n - b.n);
  const net = parseAddressRange(external.cidr)!;
  const hostAddresses = net.last - net.first - 1;
  const accepted: { range: AddressRange; at: string }[] = [];
  let total = 0;
  lb.addresses.forEach((text, i) => {
    const at = `kubernetes.loadBalancer.addresses[${i}]`;
    const range = parseAddressRange(text);
    if (!range) {
      report(at, `${text} is not an IPv4 address, range or network`, "write it like 192.168.0.200-192.168.0.220, 192.168.0.224/28 or 192.168.0.230 (numbers from 0 to 255, a prefix up to 32)");
      return;
    }
    if (text.includes("/") && !isCanonicalSubnet(text)) {
      report(at, `${text} has host bits set`, `write the network address: ${parseSubnet(text).cidr}, or a range first-last`);
      return;
    }
    if (range.first > range.last) {
      report(at, `${text} runs backwards`, `write the lower address first: ${formatAddressRange({ first: range.last, last: range.first })}`);
      return;
    }
    const shown = formatAddressRange(range);
    if (range.first < net.first || range.last > net.last) {
      report(at, `${shown} is not inside the external network ${external.cidr}: kube-vip announces the pool on the external NIC`, `use free addresses of ${external.cidr}`);
      return;
    }
    const ends = [net.first, net.last].filter((n) => range.first <= n && n <= range.last).map(numberToIpv4);
    if (external.prefix < 31 && ends.length) {
      report(at, `${shown} includes ${ends.join(" and ")}, the network or broadcast address of ${external.cidr}`, `leave ${ends.length === 1 ? "it" : "them"} out, e.g. ${formatAddressRange({ first: Math.max(range.first, net.first + 1), last: Math.min(range.last, net.last - 1) })}`);
      return;
    }
    const inside = takenNumbers.filter((t) => range.first <= t.n && t.n <= range.last);
    if (inside.length) {
      if (range.first === range.last) {
        report(at, `${shown} is already used by ${inside[0]!.owner}`, "take a free address of the external network");
      } else {
        const listed = inside.slice(0, 3).map((t) => `${t.ip} of ${t.owner}`).join(", ");
        report(at, `${shown} includes ${inside.length === 1 ? "an address in use" : `${inside.length} addresses in use`}: ${listed}${inside.length > 3 ? ", ..." : ""}`, `leave ${inside.length === 1 ? "it" : "them"} out: split the entry around ${inside.length === 1 ? "it" : "them"}, or take another part of the external network`);
      }
      return;
    }
    const clash = accepted.find((a) => a.range.first <= range.last && range.first <= a.range.last);
    if (clash) {
      report(at, `${shown} overlaps ${clash.at} (${formatAddressRange(clash.range)})`, "list each address once");
      return;
    }
    accepted.push({ range, at });
    total += range.last - range.first + 1;
  });
  if (total > hostAddresses / 2) {
    report("kubernetes.loadBalancer.addresses", `the pool holds ${total} addresses, more than half of the ${hostAddresses} host addresses of the external network ${external.cidr}`, `give LoadBalancer services at most ${Math.floor(hostAddresses / 2)} addresses: the hosts, VMs and the rest of the network need the others`);
  }
}

function firstFreeAddress(subnet: Subnet, taken: Map<string, string>, from: number): string | undefined {
  for (let n = from; n < Math.min(subnetSize(subnet) - 1, from + 1000); n++) {
    const ip = nthAddress(subnet, n);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}
