/**
 * Checks that relate fields to each other. The schema has already checked each field on
 * its own; here every rule adds to one list so that a user sees all problems at once.
 */
import * as path from "node:path";
import type { ConfigIssue } from "./errors";
import { contains, isCanonicalSubnet, overlaps, parseSubnet, subnetCount } from "./ip";
import { DEFAULT_MTU, vlanParts } from "./mtu";
import { cniFacts } from "./cni";
import { planMtu, planStacks, roleBridge } from "./plan";
import { resolveCluster, type ResolvedCluster } from "./resolve";
import { checkAddressIn, type Report, type Subnets } from "./checks";
import { checkApplyTimes, checkHost, checkHostAcrossNodes } from "./validate-hosts";
import { checkVms } from "./validate-vms";
import { checkIpv6 } from "./validate-ipv6";
import { NETWORK_ROLES, type ClusterConfig } from "./schema";

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
  checkIpv6(config, resolved, report);
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
      // Dual-stack: name the family whose packets cost more (flannel's and Calico's VXLAN over IPv6).
      const costlier = mtu.overheadByFamily && mtu.overheadByFamily.ipv6 > mtu.overheadByFamily.ipv4 ? " over IPv6 (IPv6 pods' packets)" : "";
      report("kubernetes.cni.overlayMtu", `${override} is above the internal NIC MTU minus ${mtu.encapsulation} overhead${costlier} (${mtu.maxOverlay + mtu.overhead} - ${mtu.overhead} = ${mtu.maxOverlay})`, `use at most ${mtu.maxOverlay}, or leave it out to derive it`);
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
