/**
 * Checks that relate fields to each other. The schema has already checked each field on
 * its own; here every rule adds to one list so that a user sees all problems at once.
 */
import * as path from "node:path";
import type { ConfigIssue } from "./errors";
import { contains, formatAddressRange, ipv4ToNumber, isCanonicalSubnet, isReservedAddress, nthAddress, numberToIpv4, overlaps, parseAddressRange, parseSubnet, splitAddress, subnetCount, subnetSize, type AddressRange, type Subnet } from "./ip";
import { DEFAULT_MTU, uppersOf, vlanParts } from "./mtu";
import { cniFacts } from "./cni";
import { apiServerVip, controlPlaneSpread, hostGateway, imageFileName, IMPORT_EXTENSIONS, planMtu, planStacks, roleBridge, sharedNodeFix, urlFileName } from "./plan";
import { resolveCluster, type ResolvedCluster, type ResolvedHost } from "./resolve";
import { NETWORK_ROLES, type ClusterConfig, type NetworkRole, type ProxmoxNodeConfig } from "./schema";

type Report = (path: string, message: string, fix?: string) => void;

/**
 * Every cross-field problem of a description, checked on its resolution (resolve.ts): the values
 * the plan will be built from, not a second derivation of them.
 */
export function validateCluster(config: ClusterConfig, resolved: ResolvedCluster = resolveCluster(config)): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const report: Report = (path, message, fix) => issues.push({ path, message, fix });

  const subnets = checkSubnets(config, report);
  checkNetworks(config, subnets, report);
  resolved.hosts.forEach((host, i) => checkHost(config, host, `proxmox.nodes[${i}]`, subnets, report));
  checkApplyTimes(config, report);
  checkHostAcrossNodes(config, report);
  checkVms(config, resolved, subnets, report);
  checkKubernetes(config, resolved, subnets, report);
  checkStacks(config, resolved, report);
  checkOutput(config, report);
  return issues;
}

/** Terraform Cloud's limit on a workspace name. */
export const MAX_WORKSPACE_NAME = 90;

/**
 * The stacks: a sharded VM's stack follows from its node, so the node must be written down; and
 * every stack's Terraform Cloud workspace name must be one Terraform Cloud accepts.
 */
function checkStacks(config: ClusterConfig, resolved: ResolvedCluster, report: Report) {
  const stacks = planStacks(config);
  if (config.vmStacks.shardBy === "node" && config.proxmox.ha.enabled) {
    report("proxmox.ha.enabled", "Proxmox HA is not built for VM stacks sharded by node yet: its rules span the VMs of every node, which sit in different stacks", "set vmStacks.shardBy: none, or proxmox.ha.enabled: false");
  }
  if (config.vmStacks.shardBy === "node") {
    for (const vm of resolved.vms) {
      if (vm.config.node !== undefined) continue;
      report(
        `vms[${vm.index}].node`,
        `must name the VM's Proxmox node when vmStacks.shardBy is node: placed by its position in vms, a VM can move to another node, and so to another stack (destroyed in one, created in the other), when the list of VMs changes`,
        `add node: ${vm.node} (where it is placed now)`,
      );
    }
  }
  const workspaces = config.terraformCloud?.workspaces ?? (config.terraformCloud ? { prefix: `${config.name}-` } : undefined);
  if (!workspaces || !("prefix" in workspaces)) return;
  const explicit = config.terraformCloud?.workspaces !== undefined;
  for (const id of stacks.all) {
    const name = `${workspaces.prefix}${id}`;
    if (name.length <= MAX_WORKSPACE_NAME) continue;
    const shard = stacks.vmShards.findIndex((s) => s.id === id);
    const where = shard >= 0 ? `proxmox.nodes[${shard}].name` : explicit ? "terraformCloud.workspaces.prefix" : "name";
    report(
      where,
      `the workspace of stack ${id}, ${name}, is ${name.length} characters long: Terraform Cloud allows at most ${MAX_WORKSPACE_NAME}`,
      shard >= 0 ? "shorten the node's name or terraformCloud.workspaces.prefix" : `shorten ${explicit ? "terraformCloud.workspaces.prefix" : "the cluster name (the default prefix is <name>-), or set a short terraformCloud.workspaces.prefix"}`,
    );
  }
}

/** Rendered files land inside the project unless the description says otherwise. */
function checkOutput(config: ClusterConfig, report: Report) {
  const { directory, outsideProject } = config.output;
  if (outsideProject) return;
  // "./" and "a/../" are the project directory too: normalized without a trailing slash.
  const normalized = path.posix.normalize(directory.replace(/\\/g, "/")).replace(/(.)\/+$/, "$1");
  if (path.posix.isAbsolute(normalized) || normalized === ".." || normalized.startsWith("../") || directory.startsWith("~")) {
    report("output.directory", `${directory} is outside the project`, "use a directory relative to the project, e.g. generated (or set output.outsideProject: true to write there on purpose)");
  } else if (normalized === ".") {
    report("output.directory", "is the project directory itself", "use a directory of its own, e.g. generated");
  }
}

// ---------------------------------------------------------------------------

type Subnets = Partial<Record<NetworkRole | "pod" | "service", Subnet>>;

function checkSubnets(config: ClusterConfig, report: Report): Subnets {
  const named: [keyof Subnets, string, string][] = [
    ["external", "networks.external.cidr", config.networks.external.cidr],
    ["internal", "networks.internal.cidr", config.networks.internal.cidr],
    ["pod", "kubernetes.podCidr", config.kubernetes.podCidr],
    ["service", "kubernetes.serviceCidr", config.kubernetes.serviceCidr],
  ];
  const subnets: Subnets = {};
  for (const [key, path, cidr] of named) {
    const subnet = parseSubnet(cidr);
    if (!isCanonicalSubnet(cidr)) {
      report(path, `${cidr} has host bits set`, `write the network address: ${subnet.cidr}`);
    }
    subnets[key] = subnet;
  }
  for (let a = 0; a < named.length; a++) {
    for (let b = a + 1; b < named.length; b++) {
      const [ka, pa] = named[a]!;
      const [kb, pb] = named[b]!;
      if (overlaps(subnets[ka]!, subnets[kb]!)) {
        report(pb, `${subnets[kb]!.cidr} overlaps ${pa} ${subnets[ka]!.cidr}`, "give the external, internal, pod and service networks disjoint ranges");
      }
    }
  }
  return subnets;
}

function checkNetworks(config: ClusterConfig, subnets: Subnets, report: Report) {
  for (const role of NETWORK_ROLES) {
    const net = config.networks[role];
    const path = `networks.${role}`;
    if (net.mtu > DEFAULT_MTU && !net.jumboFrames) {
      report(`${path}.mtu`, `${net.mtu} is a jumbo MTU but jumboFrames is not set`, `set ${path}.jumboFrames: true only if every NIC, switch and cable carries ${net.mtu}-byte frames; otherwise use 1500`);
    }
  }
  const ext = config.networks.external;
  if (!ext.gateway) {
    report("networks.external.gateway", "the external network needs a gateway", "set it to the router of the external network, e.g. 192.168.0.1");
  } else {
    checkAddressIn(ext.gateway, "networks.external.gateway", "external", subnets, report);
  }
  if (config.networks.internal.gateway) {
    report("networks.internal.gateway", "the internal network must not have a gateway: it would add a second default route", "remove networks.internal.gateway; the only gateway is on the external network");
  }
}

function checkAddressIn(ip: string, path: string, role: NetworkRole, subnets: Subnets, report: Report) {
  const subnet = subnets[role];
  if (!subnet) return;
  if (!contains(subnet, ip)) {
    report(path, `${ip} is outside the ${role} network ${subnet.cidr}`, `use an address inside ${subnet.cidr}`);
  } else if (isReservedAddress(subnet, ip)) {
    report(path, `${ip} is the network or broadcast address of ${subnet.cidr}`, "use a host address");
  }
}

// ---------------------------------------------------------------------------
// Host network of one Proxmox node
// ---------------------------------------------------------------------------

function checkHost(config: ClusterConfig, host: ResolvedHost, path: string, subnets: Subnets, report: Report) {
  const node = host.config;
  const names = new Map<string, number>();
  node.interfaces.forEach((iface, i) => {
    if (names.has(iface.name)) {
      report(`${path}.interfaces[${i}].name`, `interface ${iface.name} is declared twice (also interfaces[${names.get(iface.name)}])`, "declare each interface once");
    } else names.set(iface.name, i);
  });
  const macs = new Map<string, number>();
  node.interfaces.forEach((iface, i) => {
    if (iface.kind !== "nic" || !iface.mac) return;
    const mac = iface.mac.toLowerCase();
    if (macs.has(mac)) {
      report(`${path}.interfaces[${i}].mac`, `MAC ${iface.mac} is also the MAC of interfaces[${macs.get(mac)}]`, "give each NIC its own permanent MAC address (ip -br link shows them)");
    } else macs.set(mac, i);
  });
  const at = (name: string) => `${path}.interfaces[${names.get(name)}]`;
  const declared = (name: string) => names.has(name);
  const find = (name: string) => node.interfaces.find((i) => i.name === name);
  const usedBy = new Map<string, string>();
  const claim = (lower: string, upper: string, where: string, what: string) => {
    if (!declared(lower)) {
      report(where, `${what} ${lower} is not declared`, `add { kind: nic, name: ${lower} } (or the bond/VLAN it is) to ${path}.interfaces`);
      return;
    }
    const owner = usedBy.get(lower);
    if (owner && owner !== upper) {
      report(where, `${lower} is already used by ${owner}`, "an interface can be the port or slave of only one bridge or bond");
    } else usedBy.set(lower, upper);
  };

  for (const iface of node.interfaces) {
    const p = at(iface.name);
    if (iface.kind === "bridge") {
      iface.ports.forEach((port, j) => claim(port, iface.name, `${p}.ports[${j}]`, "bridge port"));
      if (iface.vids && !iface.vlanAware) report(`${p}.vids`, "vids only applies to a VLAN-aware bridge", "set vlanAware: true or remove vids");
      if (iface.vids) {
        for (const id of iface.vids.split(/[ -]/).map(Number)) {
          if (id < 1 || id > 4094) report(`${p}.vids`, `VLAN id ${id} is outside 1-4094`, "use VLAN ids from 1 to 4094");
        }
      }
      if (iface.masquerade) {
        const out = find(iface.masquerade.outInterface);
        if (!out) {
          report(`${p}.masquerade.outInterface`, `${iface.masquerade.outInterface} is not declared`, "name the uplink interface that holds the public address");
        } else if (out.name === iface.name) {
          report(`${p}.masquerade.outInterface`, "a bridge cannot masquerade through itself", "name the uplink interface");
        }
        if (!iface.address) report(`${p}.address`, "a masquerading bridge needs an address: it is the VMs' gateway", "set the bridge address, e.g. 10.10.10.1/24");
      }
    }
    if (iface.kind === "bond") {
      iface.slaves.forEach((slave, j) => {
        claim(slave, iface.name, `${p}.slaves[${j}]`, "bond slave");
        const s = find(slave);
        if (s && s.kind !== "nic") report(`${p}.slaves[${j}]`, `${slave} is a ${s.kind}; bond slaves are physical NICs`, "list physical NICs as slaves");
        if (s?.address) report(`${at(slave)}.address`, `${slave} is a slave of ${iface.name} and cannot have its own address`, `move the address to ${iface.name} or to a bridge on top of it`);
      });
      const hashModes = ["balance-xor", "802.3ad"];
      if (iface.xmitHashPolicy && !hashModes.includes(iface.mode)) {
        report(`${p}.xmitHashPolicy`, `xmitHashPolicy has no effect in mode ${iface.mode}`, "use it only with balance-xor or 802.3ad, or remove it");
      }
      if (iface.lacpRate && iface.mode !== "802.3ad") report(`${p}.lacpRate`, `lacpRate applies only to 802.3ad, not ${iface.mode}`, "remove lacpRate or use mode 802.3ad");
      if (iface.primary !== undefined) {
        if (iface.mode !== "active-backup") report(`${p}.primary`, `primary applies only to active-backup, not ${iface.mode}`, "remove primary or use mode active-backup");
        else if (!iface.slaves.includes(iface.primary)) report(`${p}.primary`, `${iface.primary} is not one of the slaves (${iface.slaves.join(", ")})`, "name one of the bond's slaves");
      }
      if (iface.clusterNetwork && iface.mode !== "active-backup") {
        report(`${p}.mode`, `the Proxmox cluster network supports only active-backup bonds, not ${iface.mode}`, "use mode: active-backup for the corosync bond");
      }
    }
    if (iface.kind === "vlan") {
      const { rawDevice, id } = vlanParts(iface);
      if (id === undefined || rawDevice === undefined) {
        report(p, `cannot tell the VLAN id and parent of ${iface.name}`, "name it <parent>.<id> (e.g. enp5s0.100) or set rawDevice and id");
      } else {
        if (id < 1 || id > 4094) report(`${p}.id`, `VLAN id ${id} is outside 1-4094`, "use a VLAN id from 1 to 4094");
        if (!declared(rawDevice)) report(`${p}.rawDevice`, `parent interface ${rawDevice} is not declared`, `declare ${rawDevice} in ${path}.interfaces`);
      }
    }
    if ((iface.kind === "nic" || iface.kind === "bridge") && iface.proxyArp && !iface.address) {
      report(`${p}.proxyArp`, "proxy ARP needs an address on the interface", "set the address or remove proxyArp");
    }
  }

  checkHostAddresses(config, node, path, at, subnets, report);
  checkHostMtus(config, host, at, report);
  checkCycles(node, at, report);
}

function checkHostAddresses(config: ClusterConfig, node: ProxmoxNodeConfig, path: string, at: (n: string) => string, subnets: Subnets, report: Report) {
  for (const role of NETWORK_ROLES) {
    const bridges = node.interfaces.filter((i) => i.kind === "bridge" && i.network === role);
    if (bridges.length === 0) {
      report(`${path}.interfaces`, `no bridge serves the ${role} network`, `add a bridge with network: ${role} (vmbr${role === "external" ? 0 : 1} in the dual-network layout)`);
    } else if (bridges.length > 1) {
      report(`${at(bridges[1]!.name)}.network`, `${bridges.map((b) => b.name).join(" and ")} both serve the ${role} network`, "give each network exactly one bridge per node");
    }
  }
  for (const iface of node.interfaces) {
    const p = at(iface.name);
    const network = "network" in iface ? iface.network : undefined;
    if (iface.address) {
      const { ip, prefix } = splitAddress(iface.address);
      if (network) {
        checkAddressIn(ip, `${p}.address`, network, subnets, report);
        const subnet = subnets[network];
        if (prefix !== undefined && subnet && prefix !== subnet.prefix) {
          report(`${p}.address`, `prefix /${prefix} differs from networks.${network}.cidr ${subnet.cidr}`, `write ${ip} (the prefix comes from the network) or ${ip}/${subnet.prefix}`);
        }
      } else if (prefix === undefined) {
        report(`${p}.address`, `${ip} has no prefix and the interface belongs to no network`, `write it as ${ip}/<prefix> or set network`);
      } else if (prefix > 32) {
        report(`${p}.address`, `prefix /${prefix} is larger than 32`, "use a prefix from 0 to 32");
      }
    }
    if (iface.gateway) {
      if (network === "internal") {
        report(`${p}.gateway`, "the internal network must not carry a gateway", "put the gateway on the external bridge (or the uplink in routed/NAT layouts)");
      }
      const cidr = iface.address && (splitAddress(iface.address).prefix !== undefined ? iface.address : network && subnets[network] ? `${splitAddress(iface.address).ip}/${subnets[network]!.prefix}` : undefined);
      if (!iface.address) {
        report(`${p}.gateway`, `${iface.name} has a gateway but no address`, "give the interface an address in the gateway's subnet");
      } else if (cidr && !contains(parseSubnet(cidr), iface.gateway)) {
        report(`${p}.gateway`, `gateway ${iface.gateway} is outside ${parseSubnet(cidr).cidr}, the subnet of ${iface.name}`, `use a gateway inside ${parseSubnet(cidr).cidr}`);
      }
    }
  }
  if (!node.ssh.host && !roleBridge(node, "external")?.address) {
    report(`${path}.ssh.host`, "no address to reach the node over SSH: the external bridge has no address", "set ssh.host to the node's management address");
  }
  const gateways = node.interfaces.filter((i) => i.gateway);
  if (gateways.length > 1) {
    report(`${at(gateways[1]!.name)}.gateway`, `${gateways.map((g) => g.name).join(" and ")} both set a default gateway`, "keep exactly one default gateway per host, on the external side");
  }
  if (gateways.length === 0 && roleBridge(node, "external") && !hostGateway(node, config)) {
    report(`${path}.interfaces`, "the host has no default gateway", "set gateway on the uplink that holds the public address (routed and NAT layouts), or give the external bridge an address other than the network's gateway");
  }
}

function checkHostMtus(config: ClusterConfig, { config: node, mtus }: ResolvedHost, at: (n: string) => string, report: Report) {
  const carriesJumbo = (name: string, seen = new Set<string>()): boolean => {
    if (seen.has(name)) return false;
    seen.add(name);
    const iface = node.interfaces.find((i) => i.name === name);
    const own = iface && "network" in iface && iface.network && config.networks[iface.network].jumboFrames;
    return Boolean(own) || uppersOf(node.interfaces, name).some((u) => carriesJumbo(u.name, seen));
  };
  for (const iface of node.interfaces) {
    const mtu = mtus.get(iface.name)!;
    if (iface.mtu !== undefined && mtu > DEFAULT_MTU && !carriesJumbo(iface.name)) {
      report(`${at(iface.name)}.mtu`, `${mtu} is a jumbo MTU but ${iface.name} carries no network with jumboFrames`, "set jumboFrames on the network it carries, or use 1500");
    }
    if (iface.kind === "bridge" && iface.network && iface.mtu !== undefined && iface.mtu > config.networks[iface.network].mtu) {
      report(`${at(iface.name)}.mtu`, `bridge MTU ${iface.mtu} is above the ${iface.network} network's underlay MTU ${config.networks[iface.network].mtu}`, `lower it, or raise networks.${iface.network}.mtu`);
    }
    for (const upper of uppersOf(node.interfaces, iface.name)) {
      const upperMtu = mtus.get(upper.name)!;
      if (upperMtu > mtu) {
        const relation = upper.kind === "bridge" ? "bridge" : upper.kind === "vlan" ? "VLAN" : "bond";
        report(`${at(iface.name)}.mtu`, `${relation} ${upper.name} (MTU ${upperMtu}) is above its lower interface ${iface.name} (MTU ${mtu})`, `raise ${iface.name} to at least ${upperMtu} or lower ${upper.name}`);
      }
    }
  }
}

function checkCycles(node: ProxmoxNodeConfig, at: (n: string) => string, report: Report) {
  const lowers = (name: string): string[] => {
    const i = node.interfaces.find((x) => x.name === name);
    if (!i) return [];
    if (i.kind === "bridge") return i.ports;
    if (i.kind === "bond") return i.slaves;
    if (i.kind === "vlan") return vlanParts(i).rawDevice ? [vlanParts(i).rawDevice!] : [];
    return [];
  };
  for (const iface of node.interfaces) {
    const stack = [...lowers(iface.name)];
    const seen = new Set<string>();
    while (stack.length) {
      const next = stack.pop()!;
      if (next === iface.name) {
        report(at(iface.name), `${iface.name} is (indirectly) its own port, slave or parent`, "remove the loop between the interfaces");
        break;
      }
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(...lowers(next));
      }
    }
  }
}

/** Margin for Terraform's second SSH connection, which confirms a verified change. */
const CONFIRM_MARGIN = 15;

function checkApplyTimes(config: ClusterConfig, report: Report) {
  const { confirmTimeout, verifyTimeout } = config.proxmox.apply;
  if (verifyTimeout + CONFIRM_MARGIN > confirmTimeout) {
    report("proxmox.apply.confirmTimeout", `${confirmTimeout} s leaves no time to confirm after up to ${verifyTimeout} s of verification`, `use at least ${verifyTimeout + CONFIRM_MARGIN} (verifyTimeout + ${CONFIRM_MARGIN} s for the confirming SSH connection)`);
  }
  // With STP a bridge listens and learns for two forward delays before it forwards anything.
  config.proxmox.nodes.forEach((node, n) =>
    node.interfaces.forEach((iface, i) => {
      if (iface.kind !== "bridge" || !iface.stp) return;
      const needed = 2 * iface.forwardDelay + 5;
      if (needed > verifyTimeout) {
        report(`proxmox.nodes[${n}].interfaces[${i}].forwardDelay`, `with STP, ${iface.name} forwards only after 2 x ${iface.forwardDelay} s, longer than proxmox.apply.verifyTimeout (${verifyTimeout} s): every change would be rolled back`, `raise proxmox.apply.verifyTimeout to at least ${needed}, or lower forwardDelay`);
      }
    }),
  );
}

function checkHostAcrossNodes(config: ClusterConfig, report: Report) {
  const seen = new Map<string, string>();
  config.proxmox.nodes.forEach((node, n) => {
    if (config.proxmox.nodes.findIndex((other) => other.name === node.name) !== n) {
      report(`proxmox.nodes[${n}].name`, `node ${node.name} is declared twice`, "give each Proxmox node a unique name");
    }
    node.interfaces.forEach((iface, i) => {
      if (!iface.address) return;
      const { ip } = splitAddress(iface.address);
      const where = `proxmox.nodes[${n}].interfaces[${i}].address`;
      const other = seen.get(ip);
      if (other) report(where, `${ip} is already used by ${other}`, "give every host interface its own address");
      else seen.set(ip, `proxmox.nodes[${n}] ${iface.name}`);
    });
  });
}

// ---------------------------------------------------------------------------
// Node VMs
// ---------------------------------------------------------------------------

function checkVms(config: ClusterConfig, resolved: ResolvedCluster, subnets: Subnets, report: Report) {
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

// ---------------------------------------------------------------------------
// Kubernetes and CNI
// ---------------------------------------------------------------------------

function checkKubernetes(config: ClusterConfig, resolved: ResolvedCluster, subnets: Subnets, report: Report) {
  const k = config.kubernetes;
  const pod = subnets.pod!;
  if (k.nodeCidrMaskSize < pod.prefix) {
    report("kubernetes.nodeCidrMaskSize", `/${k.nodeCidrMaskSize} per node is larger than the whole pod network ${pod.cidr}`, `use a mask of at least /${pod.prefix}`);
  } else {
    const capacity = subnetCount(pod, k.nodeCidrMaskSize);
    if (capacity < config.vms.length) {
      report("kubernetes.podCidr", `${pod.cidr} holds only ${capacity} node subnets of /${k.nodeCidrMaskSize}, but there are ${config.vms.length} nodes`, `widen the pod network (e.g. /${Math.max(0, k.nodeCidrMaskSize - Math.ceil(Math.log2(config.vms.length)))}) or raise nodeCidrMaskSize`);
    }
  }

  if (k.networkPolicy && k.cni.plugin === "flannel") {
    report("kubernetes.networkPolicy", "Flannel does not enforce NetworkPolicy: policies would be accepted and silently ignored", "use kubernetes.cni.plugin: calico or cilium, or set networkPolicy: false");
  }

  // What the CNI puts on the wire, as the plan will have it.
  const cni = cniFacts(config);
  // The internal NICs the plan will have: those on a declared node with an internal bridge.
  const internalNicMtus = resolved.vms.flatMap((vm) => (vm.nics[1].mtu === undefined ? [] : [vm.nics[1].mtu]));
  const mtu = planMtu(config, internalNicMtus, cni);
  const override = k.cni.overlayMtu;
  if (override !== undefined) {
    if (override > mtu.maxOverlay) {
      report("kubernetes.cni.overlayMtu", `${override} is above the internal NIC MTU minus ${mtu.encapsulation} overhead (${mtu.maxOverlay + mtu.overhead} - ${mtu.overhead} = ${mtu.maxOverlay})`, `use at most ${mtu.maxOverlay}, or leave it out to derive it`);
    } else if (override < 1280) {
      report("kubernetes.cni.overlayMtu", `${override} is below 1280, the smallest MTU IPv6 and most CNIs accept`, `use a value from 1280 to ${mtu.maxOverlay}`);
    }
  } else if (mtu.maxOverlay < 1280) {
    report("networks.internal.mtu", `the overlay would get MTU ${mtu.maxOverlay}, below 1280`, "raise the internal network MTU");
  }

  checkInterfaceSelection(config, subnets, report);
  if (cni.oneSegment) {
    const segment = internalSegments(config, resolved);
    if (segment) report(cni.oneSegment.path, `${cni.oneSegment.name} needs all nodes on one L2 segment, but ${segment}`, `${cni.oneSegment.instead}, or bridge the internal networks of all Proxmox nodes into one segment`);
  }
  const flannel = k.cni.flannel;
  if (k.cni.plugin === "flannel") {
    if (!cni.flannelInterface) {
      report("kubernetes.cni.flannel.interface", "cannot tell which NIC is internal: no Proxmox host has an internal address and NIC names are not pinned", "set interface: { name: eth1 } with vmDefaults.cloudInit.networkData.enabled, or { canReach: <an internal address> }");
    }
    if (cni.oneSegment && flannel.interface && "canReach" in flannel.interface && subnets.internal && !contains(subnets.internal, flannel.interface.canReach)) {
      report("kubernetes.cni.flannel.interface.canReach", `${cni.oneSegment.name} routes pod subnets via the selected interface, but ${flannel.interface.canReach} is not on the internal L2 network ${subnets.internal.cidr}`, `select the internal NIC (an address inside the internal network), or ${cni.oneSegment.instead}`);
    }
    if (flannel.directRouting && flannel.backend !== "vxlan") {
      report("kubernetes.cni.flannel.directRouting", `DirectRouting is a vxlan option, not ${flannel.backend}`, "remove directRouting or use backend: vxlan");
    }
  }
  if (k.cni.plugin === "cilium") {
    const c = k.cni.cilium;
    // Cilium's kube-proxy replacement serves NodePorts on its devices only (BPF NodePort), and
    // nothing else does once kubeadm skips kube-proxy: pinned to the internal NIC, the external
    // NodePorts the firewall opens would answer nothing.
    const devices = cni.ciliumDevices;
    if (c.kubeProxyReplacement && config.firewall.nodePorts && devices && !devices.includes(config.vmDefaults.cloudInit.networkData.interfaceNames[0])) {
      report("kubernetes.cni.cilium.kubeProxyReplacement", `Cilium's kube-proxy replacement serves NodePorts only on its devices (${devices.join(", ")}, the internal NIC), but firewall.nodePorts opens them on the external network`, "set firewall.nodePorts: false (NodePorts then answer on the internal network), or kubeProxyReplacement: false");
    }
  }
  if (k.cni.plugin === "calico") {
    const [major, minor] = k.cni.calico.version.replace(/^v/, "").split(".").map(Number) as [number, number];
    if ((major < 3 || (major === 3 && minor < 12)) && config.sysctl.node.rpFilter === 2) {
      report("kubernetes.cni.calico.version", `Calico ${k.cni.calico.version} (Felix before v3.12) refuses to start with rp_filter=2 (loose), which sysctl.node.rpFilter sets`, "use Calico v3.12 or later (it checks RPF with iptables itself), or set sysctl.node.rpFilter: 1");
    }
    const auto = k.cni.calico.autodetection;
    if (auto && "cidrs" in auto && subnets.internal && !auto.cidrs.some((c) => overlaps(parseSubnet(c), subnets.internal!))) {
      report("kubernetes.cni.calico.autodetection.cidrs", `none of ${auto.cidrs.join(", ")} covers the internal network ${subnets.internal.cidr}`, `use cidrs: [${subnets.internal.cidr}]`);
    }
    if (k.cni.calico.blockSize < pod.prefix) {
      report("kubernetes.cni.calico.blockSize", `/${k.cni.calico.blockSize} blocks are larger than the pod network ${pod.cidr}`, `use a block size of at least /${pod.prefix}`);
    }
  }
}

/**
 * How the CNI picks the node's NIC must never be able to pick the external one: a name or
 * pattern is safe only when the guest names are pinned (the network-data snippet renames each
 * NIC by MAC), and then it must select the internal name and not the external one.
 */
function checkInterfaceSelection(config: ClusterConfig, subnets: Subnets, report: Report) {
  const cni = config.kubernetes.cni;
  const networkData = config.vmDefaults.cloudInit.networkData;
  const [external, internal] = networkData.interfaceNames;
  const unpinned = "guest NIC names are not pinned (vmDefaults.cloudInit.networkData.enabled is false): the same name can be the external NIC in another image";
  const safer = "select by address instead (canReach of an internal address; the default), or enable vmDefaults.cloudInit.networkData to pin the names";
  const byName = (where: string, name: string) => {
    if (!networkData.enabled) report(where, `${name}: ${unpinned}`, safer);
    else if (name === external) report(where, `${name} is the external NIC: pod traffic would leave through the external network`, `use ${internal}, the internal NIC`);
    else if (name !== internal) report(where, `${name} is not a NIC of the VMs (they are ${external} and ${internal})`, `use ${internal}, the internal NIC`);
  };
  const byPattern = (where: string, pattern: string) => {
    if (!networkData.enabled) return report(where, `/${pattern}/: ${unpinned}`, safer);
    let regex: RegExp;
    try {
      regex = new RegExp(pattern);
    } catch {
      return report(where, `/${pattern}/ is not a valid regular expression`, `write a pattern such as ^${internal}$`);
    }
    if (regex.test(external)) report(where, `/${pattern}/ matches the external NIC ${external}: pod traffic could leave through the external network`, `anchor it to the internal NIC: ^${internal}$`);
    else if (!regex.test(internal)) report(where, `/${pattern}/ does not match the internal NIC ${internal}`, `use ^${internal}$`);
  };
  const canReach = (where: string, ip: string) => {
    if (subnets.external && contains(subnets.external, ip)) report(where, `${ip} is on the external network: the CNI would carry pod traffic there`, "pick an address on the internal network");
  };
  if (cni.plugin === "flannel" && cni.flannel.interface) {
    const sel = cni.flannel.interface;
    const at = "kubernetes.cni.flannel.interface";
    if ("name" in sel) byName(`${at}.name`, sel.name);
    if ("regex" in sel) byPattern(`${at}.regex`, sel.regex);
    if ("canReach" in sel) canReach(`${at}.canReach`, sel.canReach);
  }
  if (cni.plugin === "cilium" && cni.cilium.devices) {
    cni.cilium.devices.forEach((name, i) => byName(`kubernetes.cni.cilium.devices[${i}]`, name));
  }
  if (cni.plugin === "calico" && cni.calico.autodetection) {
    const sel = cni.calico.autodetection;
    const at = "kubernetes.cni.calico.autodetection";
    if ("interface" in sel) byPattern(`${at}.interface`, sel.interface);
    if ("canReach" in sel) canReach(`${at}.canReach`, sel.canReach);
  }
}

/**
 * Why the internal networks of the VMs' Proxmox nodes are not one L2 segment, if they are not:
 * a portless internal bridge is local to its host, and bridges on different VLANs are apart.
 */
function internalSegments(config: ClusterConfig, resolved: ResolvedCluster): string | undefined {
  const used = new Set(resolved.vms.map((vm) => vm.node));
  const hosts = config.proxmox.nodes.filter((n) => used.has(n.name));
  if (hosts.length < 2) return undefined;
  const segments = new Map<string, string>();
  for (const node of hosts) {
    const bridge = roleBridge(node, "internal");
    if (!bridge) continue;
    if (bridge.ports.length === 0) return `the internal bridge ${bridge.name} of ${node.name} has no ports (it is local to the host)`;
    const tags = bridge.ports.map((port) => {
      const iface = node.interfaces.find((i) => i.name === port);
      return iface?.kind === "vlan" ? `VLAN ${vlanParts(iface).id}` : "untagged";
    });
    segments.set(node.name, [...new Set(tags)].sort().join("+"));
  }
  const distinct = new Set(segments.values());
  if (distinct.size > 1) return `the internal bridges are on different segments (${[...segments].map(([n, t]) => `${n}: ${t}`).join(", ")})`;
  return undefined;
}
