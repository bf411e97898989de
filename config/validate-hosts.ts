/**
 * The cross-field checks of the Proxmox hosts: each node's interfaces (names, MACs, ports and
 * slaves, bonds, VLANs, addresses, gateways, MTUs, loops), the apply's times, and what the nodes
 * must not share.
 */
import { contains, isCanonicalSubnet, parseSubnet, splitAddress } from "./ip";
import { DEFAULT_MTU, uppersOf, vlanParts } from "./mtu";
import { hostGateway, roleBridge } from "./plan";
import type { ResolvedHost } from "./resolve";
import { NETWORK_ROLES, type ClusterConfig, type ProxmoxNodeConfig } from "./schema";
import { checkAddressIn, type Report, type Subnets } from "./checks";

export function checkHost(config: ClusterConfig, host: ResolvedHost, path: string, subnets: Subnets, report: Report) {
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
        // iptables keeps the network address (10.0.0.5/24 becomes 10.0.0.0/24): a rule written
        // otherwise is not the rule `iptables -S` lists, which the host apply's rollback counts.
        const source = iface.masquerade.sourceCidr;
        if (source && !isCanonicalSubnet(source)) report(`${p}.masquerade.sourceCidr`, `${source} has host bits set`, `write the network address: ${parseSubnet(source).cidr}`);
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

export function checkApplyTimes(config: ClusterConfig, report: Report) {
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

export function checkHostAcrossNodes(config: ClusterConfig, report: Report) {
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
