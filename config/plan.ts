/**
 * Everything derived from a validated cluster description: addresses with prefixes, the
 * host gateway, every MTU of the chain, VM placement, vCPUs and queues, MAC addresses.
 *
 * Renderers and constructs read the plan, never the raw description, so a number is
 * decided in exactly one place.
 */
import { canonicalIpv6, formatAddressRange, nthAddress, parseAddressRange, parseSubnet, parseSubnet6, rangeToCidrs, splitAddress, type Subnet } from "./ip";
import { DEFAULT_CALICO_BLOCK_SIZE6, dualStackOf, IPV6_MIN_MTU } from "./dual-stack";
import { cniFacts, planCni, type CniFacts, type CniPlan, type Encapsulation } from "./cni";
import { roleBridge, vlanParts } from "./mtu";
import { MAX_VIRTIO_QUEUES, resolveCluster, type ResolvedCluster } from "./resolve";
import { secretIn } from "./secrets";
import { PLAIN_FILE_NAME, type ClusterConfig, type HostInterface, type NetworkRole, type ProxmoxNodeConfig, type VmConfig } from "./schema";

/** Machine versions that turn the host UDP-tunnel offload on (see DEFAULT_MACHINE). */
export const TUNNEL_OFFLOAD_MACHINE = /^(pc(-i440fx)?|pc-q35)-(10\.2|11\.0)(\+pve0)?$/;

export interface PlannedInterface {
  readonly config: HostInterface;
  readonly name: string;
  readonly mtu: number;
  /** `ip/prefix`, when the interface has an address. */
  readonly address?: string;
  /** Default gateway of the host, on the one interface that carries it. */
  readonly gateway?: string;
  /** A NIC's permanent MAC, lower case, when the description pins it: the apply checks the name still has it. */
  readonly mac?: string;
  /** `ip/prefix` of its IPv6 address (canonical text, an inet6 stanza), when it has one. */
  readonly address6?: string;
  /** IPv6 default gateway of the host (canonical), on the one interface that carries it. */
  readonly gateway6?: string;
}

export interface HostPlan {
  readonly name: string;
  readonly ssh: { readonly host: string; readonly user: string; readonly port: number };
  /** Interfaces in file order: physical first, then bonds, VLANs, bridges. */
  readonly interfaces: readonly PlannedInterface[];
  readonly bridges: Readonly<Record<NetworkRole, PlannedInterface>>;
  readonly gateway?: { readonly interface: string; readonly ip: string };
  /** The host's IPv6 default gateway (canonical) and the interface carrying it, when it has one. */
  readonly gateway6?: { readonly interface: string; readonly ip: string };
  /** This host's address on the internal network. */
  readonly internalAddress?: string;
  /** This host's IPv6 address on the internal network (canonical), when its internal bridge has one. */
  readonly internalAddress6?: string;
  /** The other Proxmox nodes' internal addresses: the network check pings them at the internal MTU. */
  readonly peers: readonly string[];
  /** The other Proxmox nodes' internal IPv6 addresses (canonical), where their internal bridges have one. */
  readonly peers6?: readonly string[];
  /** Interfaces that must have a carrier once up: NICs in use, bonds, VLANs, bridges with ports. */
  readonly carrier: ReadonlySet<string>;
  /** The Proxmox firewall's backend: only iptables (pve-firewall) makes fwbr bridges. */
  readonly firewallBackend: ClusterConfig["proxmox"]["firewallBackend"];
}

export interface PlannedNic {
  readonly role: NetworkRole;
  readonly index: number;
  readonly bridge: string;
  readonly mac: string;
  readonly ip: string;
  readonly prefix: number;
  /** Only the external NIC carries the default gateway. */
  readonly gateway?: string;
  /** MTU of the guest NIC, always <= the bridge MTU. */
  readonly mtu: number;
  readonly bridgeMtu: number;
  readonly queues: number;
  readonly firewall: boolean;
  /** Stable name inside the guest, when the network-data snippet pins it. */
  readonly guestName: string;
  /** Its IPv6 address (canonical text, from vms[].ip.external6/internal6), when its network has IPv6. */
  readonly ip6?: string;
  /** The prefix length of networks.<role>.ipv6.cidr, with ip6. */
  readonly prefix6?: number;
  /** Only the external NIC carries the IPv6 default gateway (canonical), with ip6. */
  readonly gateway6?: string;
}

type Defaults = ClusterConfig["vmDefaults"];

export interface VmPlan {
  readonly name: string;
  readonly id: number;
  readonly role: VmConfig["role"];
  readonly node: string;
  readonly cpu: Defaults["cpu"];
  readonly vcpus: number;
  /** QEMU machine type; undefined leaves Proxmox's default (the newest `pc`). */
  readonly machine?: string;
  readonly memory: number;
  readonly disk: Defaults["disk"];
  readonly source: NonNullable<Defaults["source"]>;
  readonly agent: boolean;
  readonly onBoot: boolean;
  readonly protection: boolean;
  readonly tags: readonly string[];
  readonly description: string;
  readonly cloudInit: Defaults["cloudInit"];
  /** [external, internal], the order Proxmox and cloud-init match them in. */
  readonly nics: readonly [PlannedNic, PlannedNic];
  /**
   * The kubelet's node-ip: the internal NIC's IPv4 address, and with Kubernetes dual-stack its
   * IPv6 address second (canonical), to be joined with "," (--node-ip=<IPv4>,<IPv6>).
   */
  readonly nodeIps: readonly string[];
}

export interface MtuPlan {
  readonly underlay: Readonly<Record<NetworkRole, number>>;
  /** Whether each network is declared to carry jumbo frames end to end. */
  readonly jumboFrames: Readonly<Record<NetworkRole, boolean>>;
  /** The smallest internal VM NIC MTU: the link the overlay rides on. */
  readonly internalNic: number;
  /**
   * The CNI's encapsulation and the overhead the plan reserves for it (config/cni): with
   * dual-stack the larger of what an IPv4 and an IPv6 pod packet cost.
   */
  readonly encapsulation: Encapsulation;
  readonly overhead: number;
  /** With dual-stack: what the encapsulation costs an IPv4 pod packet and an IPv6 one (CniFacts.overhead6). */
  readonly overheadByFamily?: { readonly ipv4: number; readonly ipv6: number };
  /** The largest overlay MTU the internal network allows. */
  readonly maxOverlay: number;
  /** The overlay MTU the CNI is configured with. */
  readonly overlay: number;
  /**
   * With any IPv6 network: the smallest MTU an IPv6 link may have (1280, RFC 8200 section 5),
   * which every link carrying IPv6 must reach, the overlay too (validation holds them to it).
   */
  readonly ipv6Minimum?: number;
}

export type { CalicoAutodetection, CniPlan, FlannelInterface } from "./cni";

export interface DnsPlan {
  /** In the description's order; IPv4 as written, IPv6 as canonical text. */
  readonly servers: readonly string[];
  readonly searchDomain?: string;
}

export interface ApiServerPlan {
  /** The virtual IP kube-vip holds, when there is one. */
  readonly vip?: string;
  /** Where every node and kubeconfig reaches the API: the VIP, or the only control plane. */
  readonly host: string;
  readonly port: number;
  /** `host:port`, kubeadm's controlPlaneEndpoint. */
  readonly endpoint: string;
  /** Every name and address the API server's certificate must cover. */
  readonly certSans: readonly string[];
  /** kubectl from the external network: the API port is opened there. */
  readonly external: boolean;
}

/** LoadBalancer services on the external network (kubernetes.loadBalancer). */
export interface LoadBalancerPlan {
  /** The pool, as address ranges in address order: `a-b`, or `a` for one address. */
  readonly ranges: readonly string[];
  /** The same addresses as the fewest networks (a single address bare), in address order: the firewall's destination. */
  readonly cidrs: readonly string[];
  /** How many addresses the pool holds. */
  readonly size: number;
  /** The services' ports the firewall admits to the pool, with the source resolved to networks. */
  readonly ports: readonly { readonly protocol: "tcp" | "udp"; readonly ports: string; readonly source: string }[];
  /** kube-vip-cloud-provider's image. */
  readonly cloudProviderImage: string;
}

/** The VMs of one Proxmox node, in a stack of their own (vmStacks.shardBy: node). */
export interface VmShardPlan {
  /** The stack id: `vms-<node>`; also its state file and its Terraform Cloud workspace's suffix. */
  readonly id: string;
  readonly node: string;
  /** The node's VMs, in description order; none for a node without VMs (its stack still exists). */
  readonly vms: readonly VmPlan[];
  /** With proxmox.ha: the HA resources, node-affinity rules (VE 9) and groups (VE 8) of the node's VMs. */
  readonly ha?: HaPlan;
}

/**
 * The Terraform stacks, one per step of the build; the ids are stack names, state file names
 * (`terraform.<id>.tfstate`) and Terraform Cloud workspace suffixes.
 */
export interface StacksPlan {
  readonly hostNetwork: string;
  /** Step 2: the VMs, or with shards only what is cluster-wide (security groups, node setup files, node_ips). */
  readonly vms: string;
  /** With vmStacks.shardBy: node, one per Proxmox node in proxmox.nodes order, each after `vms`; otherwise none. */
  readonly vmShards: readonly VmShardPlan[];
  /**
   * With shards and Proxmox HA on VE 9: the stack of the HA rule that spans shards (the control
   * planes kept apart), after every shard: Proxmox refuses a rule naming a resource HA does not
   * manage yet. Its id, `vms_ha`, has an underscore, which no node name has, so it is never a
   * shard's, and `cdktf deploy 'vms*'` deploys it in its place.
   */
  readonly haRules?: { readonly id: string; readonly ha: HaPlan };
  readonly cni: string;
  /** Every stack id in build order. */
  readonly all: readonly string[];
}

/**
 * Dual-stack (config/dual-stack.ts), decided once: present only when networks.external.ipv6 is
 * set. Every IPv6 text here and in the other plan fields that carry IPv6 (PlannedNic.ip6 and
 * gateway6, PlannedInterface.address6 and gateway6, HostPlan.gateway6 and internalAddress6,
 * VmPlan.nodeIps, KubernetesNetworkPlan, DnsPlan.servers, FirewallSourcesPlan) is canonical
 * (RFC 5952, config/ip.ts canonicalIpv6), never the user's spelling.
 */
export interface Ipv6Plan {
  /** The IPv6 subnets: external always; internal, pod and service with Kubernetes dual-stack. */
  readonly subnets: { readonly external: Subnet; readonly internal?: Subnet; readonly pod?: Subnet; readonly service?: Subnet };
  /** The external network's IPv6 gateway: the one IPv6 default route of hosts and VMs. */
  readonly gateway: string;
  /** Whether Kubernetes runs dual-stack (networks.internal.ipv6 is set). */
  readonly kubernetes: boolean;
}

/** The Kubernetes address families and networks, IPv4 first (kubeadm takes them joined with ","). */
export interface KubernetesNetworkPlan {
  /** Whether the cluster is dual-stack: pods and services get an IPv6 address too. */
  readonly dualStack: boolean;
  /** kubeadm networking.podSubnet (--cluster-cidr): [IPv4] or [IPv4, IPv6]. */
  readonly podSubnets: readonly string[];
  /** kubeadm networking.serviceSubnet (--service-cluster-ip-range): [IPv4] or [IPv4, IPv6]. */
  readonly serviceSubnets: readonly string[];
  /** --node-cidr-mask-size-ipv4 (kubernetes.nodeCidrMaskSize). */
  readonly nodeCidrMaskSize: number;
  /** --node-cidr-mask-size-ipv6, with dual-stack (default 64). */
  readonly nodeCidrMaskSize6?: number;
  /** The IPv6 pool's IPAM block size, with dual-stack and Calico (default 122). */
  readonly calicoBlockSize6?: number;
}

/**
 * The firewall's sources as the description gives them, with IPv6 networks in canonical text:
 * `external`, `internal`, or a network (IPv4 as written). Renderers read these, not the description.
 */
export interface FirewallSourcesPlan {
  /** firewall.ssh; undefined when the description leaves it to the default (the external network). */
  readonly ssh?: readonly string[];
  /** firewall.rules[i].from, in rule order. */
  readonly rules: readonly string[];
}

export interface ClusterPlan {
  readonly config: ClusterConfig;
  /** The stacks and which VMs each holds. */
  readonly stacks: StacksPlan;
  readonly subnets: Readonly<Record<NetworkRole | "pod" | "service", Subnet>>;
  /** The external network's gateway: the one default route of hosts and VMs. */
  readonly gateway: string;
  /** The resolvers the VMs get (on their external NIC), from networks.external. */
  readonly dns: DnsPlan;
  /** Dual-stack, when networks.external.ipv6 is set (see Ipv6Plan). */
  readonly ipv6?: Ipv6Plan;
  /** The Kubernetes networks in both families, IPv4 first. */
  readonly kubernetesNetwork: KubernetesNetworkPlan;
  /** The firewall's sources, IPv6 in canonical text. */
  readonly firewallSources: FirewallSourcesPlan;
  readonly hosts: readonly HostPlan[];
  readonly vms: readonly VmPlan[];
  /** Proxmox HA for the node VMs, when proxmox.ha.enabled. */
  readonly ha?: HaPlan;
  readonly mtu: MtuPlan;
  /** What the CNI puts on the internal network (config/cni). */
  readonly cni: CniPlan;
  readonly apiServer: ApiServerPlan;
  /** LoadBalancer services on the external network, when kubernetes.loadBalancer is set. */
  readonly loadBalancer?: LoadBalancerPlan;
  /** SSH public keys for the VMs' cloud-init user: inline, from files and from the environment. */
  readonly sshKeys: readonly string[];
  /** Things the user should know that do not stop the synth. */
  readonly warnings: readonly string[];
}

/** What the description names but does not hold: read by config/load.ts from files and the environment. */
export interface PlanInputs {
  readonly sshKeys: readonly string[];
}

const KIND_ORDER: Record<HostInterface["kind"], number> = { nic: 0, bond: 1, vlan: 2, bridge: 3 };

/** `ip/prefix` of an interface address; a bare IP takes its network's prefix. */
export function interfaceAddress(iface: HostInterface, subnets: Record<NetworkRole, Subnet>): string | undefined {
  if (!iface.address) return undefined;
  const { ip, prefix } = splitAddress(iface.address);
  if (prefix !== undefined) return iface.address;
  const network = "network" in iface ? iface.network : undefined;
  return network ? `${ip}/${subnets[network].prefix}` : undefined;
}

/** `ip/prefix` of an interface's IPv6 address, canonical; a bare IP takes its network's IPv6 prefix. */
export function interfaceAddress6(iface: HostInterface, config: ClusterConfig): string | undefined {
  if (!iface.address6) return undefined;
  const { ip, prefix } = splitAddress(iface.address6);
  if (prefix !== undefined) return `${canonicalIpv6(ip)}/${prefix}`;
  const network = "network" in iface ? iface.network : undefined;
  const cidr = network && config.networks[network].ipv6?.cidr;
  return cidr ? `${canonicalIpv6(ip)}/${parseSubnet6(cidr).prefix}` : undefined;
}

/**
 * The host's IPv6 default gateway (canonical): the interface that names one, or else the external
 * bridge, when it has an IPv6 address, with the external network's IPv6 gateway (unless the bridge
 * is that gateway).
 */
export function hostGateway6(node: ProxmoxNodeConfig, config: ClusterConfig): { interface: string; ip: string } | undefined {
  const explicit = node.interfaces.find((i) => i.gateway6 !== undefined);
  if (explicit) return { interface: explicit.name, ip: canonicalIpv6(explicit.gateway6!) };
  const external = roleBridge(node, "external");
  const gw = config.networks.external.ipv6?.gateway;
  if (!external?.address6 || !gw || canonicalIpv6(splitAddress(external.address6).ip) === canonicalIpv6(gw)) return undefined;
  return { interface: external.name, ip: canonicalIpv6(gw) };
}

/** The Kubernetes networks of a valid description, IPv4 first. */
export function planKubernetesNetwork(config: ClusterConfig): KubernetesNetworkPlan {
  const k = config.kubernetes;
  const six = dualStackOf(config)?.kubernetes;
  return {
    dualStack: six !== undefined,
    podSubnets: [parseSubnet(k.podCidr).cidr, ...(six ? [parseSubnet6(six.podCidr).cidr] : [])],
    serviceSubnets: [parseSubnet(k.serviceCidr).cidr, ...(six ? [parseSubnet6(six.serviceCidr).cidr] : [])],
    nodeCidrMaskSize: k.nodeCidrMaskSize,
    ...(six ? { nodeCidrMaskSize6: six.nodeCidrMaskSize } : {}),
    ...(six && k.cni.plugin === "calico" ? { calicoBlockSize6: k.cni.calico.blockSize6 ?? DEFAULT_CALICO_BLOCK_SIZE6 } : {}),
  };
}

/** The dual-stack plan of a valid description; undefined without networks.external.ipv6. */
export function planIpv6(config: ClusterConfig): Ipv6Plan | undefined {
  const ds = dualStackOf(config);
  if (!ds) return undefined;
  const k8s = ds.kubernetes;
  return {
    subnets: {
      external: parseSubnet6(ds.external),
      ...(ds.internal ? { internal: parseSubnet6(ds.internal) } : {}),
      ...(k8s ? { pod: parseSubnet6(k8s.podCidr), service: parseSubnet6(k8s.serviceCidr) } : {}),
    },
    // Validation refuses external IPv6 without a gateway.
    gateway: canonicalIpv6(config.networks.external.ipv6!.gateway!),
    kubernetes: k8s !== undefined,
  };
}

/** An IPv6 network in canonical text; anything else (IPv4, external, internal) as written. */
const canonicalSource = (source: string): string => (source.includes(":") ? parseSubnet6(source).cidr : source);

/**
 * The host's default gateway: the interface that names one, or else the external bridge
 * with the external network's gateway (unless the bridge *is* that gateway, as in the
 * routed and NAT layouts, where the uplink must name it).
 */
export function hostGateway(node: ProxmoxNodeConfig, config: ClusterConfig): { interface: string; ip: string } | undefined {
  const explicit = node.interfaces.find((i) => i.gateway !== undefined);
  if (explicit) return { interface: explicit.name, ip: explicit.gateway! };
  const external = roleBridge(node, "external");
  const gw = config.networks.external.gateway;
  if (!external?.address || !gw || splitAddress(external.address).ip === gw) return undefined;
  return { interface: external.name, ip: gw };
}

/** Extensions Proxmox accepts for the `import` content type. */
export const IMPORT_EXTENSIONS = [".qcow2", ".raw", ".vmdk"] as const;

/** The image's file name on the datastore: as configured, or the URL's last path segment. */
export function imageFileName(image: { url: string; fileName?: string }): string {
  const name = image.fileName ?? urlFileName(image.url);
  // Validation refuses an image whose URL names no plain file and that sets no fileName.
  if (name === undefined) throw new Error(`no plain file name in ${image.url} (validated before)`);
  return name;
}

/**
 * The last path segment of a URL, percent-decoded, when it is a plain file name (PLAIN_FILE_NAME,
 * as `fileName` must be) and no secret (config/secrets.ts); undefined otherwise. Decoding turns "%24%7B" into "${" and "%0A" into a
 * line break: what the screen of the description never saw must pass the file name rule here.
 */
export function urlFileName(url: string): string | undefined {
  let name: string;
  try {
    name = decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "");
  } catch {
    return undefined; // a malformed escape such as "%zz"
  }
  return PLAIN_FILE_NAME.test(name) && !secretIn(name) ? name : undefined;
}

/**
 * Interfaces a working host has a link on: a NIC that carries something (a port, a slave, a
 * VLAN's parent, an address), every bond and VLAN, and a bridge with ports. A portless bridge
 * (routed, NAT) and an unused NIC need none.
 */
function carrierInterfaces(interfaces: readonly HostInterface[]): Set<string> {
  const lowers = new Set(
    interfaces.flatMap((i) => (i.kind === "bridge" ? i.ports : i.kind === "bond" ? i.slaves : i.kind === "vlan" ? [vlanParts(i).rawDevice ?? ""] : [])),
  );
  return new Set(
    interfaces
      .filter((i) => (i.kind === "nic" ? lowers.has(i.name) || i.address !== undefined : i.kind === "bridge" ? i.ports.length > 0 : true))
      .map((i) => i.name),
  );
}

/** The stack of one Proxmox node's VMs (vmStacks.shardBy: node). */
export const vmShardId = (node: string): string => `vms-${node}`;

/** The stack of the HA rules that span shards (StacksPlan.haRules). */
export const HA_RULES_STACK = "vms_ha";

/**
 * The stacks of a description (see StacksPlan); `vms` lists the planned VMs with their nodes,
 * `ha` their Proxmox HA, which shards split: each shard its VMs' part, `vms_ha` the rule of all.
 */
export function planStacks(config: ClusterConfig, vms: readonly VmPlan[] = [], ha?: HaPlan): StacksPlan {
  const sharded = config.vmStacks.shardBy === "node";
  const haOf = (mine: readonly VmPlan[]): HaPlan | undefined => {
    if (!ha) return undefined;
    const names = new Set(mine.map((vm) => vm.name));
    const groups = new Set(ha.resources.filter((r) => names.has(r.vm)).map((r) => r.group));
    return { version: ha.version, resources: ha.resources.filter((r) => names.has(r.vm)), groups: ha.groups.filter((g) => groups.has(g.group)), nodeAffinity: ha.nodeAffinity.filter((r) => names.has(r.vm)) };
  };
  const shards = sharded
    ? config.proxmox.nodes.map((node) => {
        const mine = vms.filter((vm) => vm.node === node.name);
        return { id: vmShardId(node.name), node: node.name, vms: mine, ...(ha ? { ha: haOf(mine) } : {}) };
      })
    : [];
  // Present whenever rules can span shards (VE 9), so the stack does not come and go with the control planes.
  const haRules = sharded && config.proxmox.ha.enabled && config.proxmox.version === 9 ? HA_RULES_STACK : undefined;
  return {
    hostNetwork: "host-network",
    vms: "vms",
    vmShards: shards,
    ...(haRules ? { haRules: { id: haRules, ha: { version: 9, resources: [], groups: [], nodeAffinity: [], ...(ha?.controlPlanesApart ? { controlPlanesApart: ha.controlPlanesApart } : {}) } } } : {}),
    cni: "cni",
    all: ["host-network", "vms", ...shards.map((s) => s.id), ...(haRules ? [haRules] : []), "cni"],
  };
}

/** How the control planes (etcd members) sit on the Proxmox nodes, and what one failed host costs. */
export interface ControlPlaneSpread {
  /** How many control planes there are. */
  readonly count: number;
  /** The etcd members that may fail with the cluster keeping quorum: (count - 1) / 2, rounded down. */
  readonly tolerated: number;
  /** The control planes (index into vms, name) on each Proxmox node that holds any, in proxmox.nodes order. */
  readonly byNode: ReadonlyMap<string, readonly { readonly index: number; readonly name: string }[]>;
  /** Proxmox nodes without a control plane, in proxmox.nodes order. */
  readonly free: readonly string[];
  /** The most control planes on one node: losing that node loses them all. */
  readonly most: number;
  /** The fewest the busiest node can hold with these Proxmox nodes: control planes / nodes, rounded up. */
  readonly fewestPossible: number;
  /**
   * Whether Proxmox can keep the control planes apart: it drops a negative resource-affinity rule
   * of fewer than two resources, or of more than the cluster has nodes.
   */
  readonly separable: boolean;
}

export function controlPlaneSpread(config: ClusterConfig, placement: readonly string[]): ControlPlaneSpread {
  const byNode = new Map<string, { index: number; name: string }[]>();
  const order = config.proxmox.nodes.map((n) => n.name);
  // proxmox.nodes order first; a pinned node that is not declared (reported by validation) last.
  for (const node of [...order, ...placement]) if (!byNode.has(node)) byNode.set(node, []);
  config.vms.forEach((vm, index) => {
    if (vm.role === "control-plane") byNode.get(placement[index]!)!.push({ index, name: vm.name });
  });
  for (const [node, cps] of byNode) if (cps.length === 0) byNode.delete(node);
  const count = config.vms.filter((vm) => vm.role === "control-plane").length;
  return {
    count,
    tolerated: Math.max(0, Math.floor((count - 1) / 2)),
    byNode,
    free: order.filter((n) => !byNode.has(n)),
    most: Math.max(0, ...[...byNode.values()].map((cps) => cps.length)),
    fewestPossible: Math.ceil(count / Math.max(1, order.length)),
    separable: count >= 2 && count <= order.length,
  };
}

/** Proxmox HA for the node VMs (proxmox.ha): every name and rule decided here, the construct only writes them. */
export interface HaPlan {
  readonly version: ClusterConfig["proxmox"]["version"];
  /** One HA resource per VM, in VM order. */
  readonly resources: readonly HaResourcePlan[];
  /** Proxmox VE 8: the HA groups the resources use, in order of first use. */
  readonly groups: readonly HaGroupPlan[];
  /** Proxmox VE 9: one node-affinity rule per VM, in VM order. */
  readonly nodeAffinity: readonly HaNodeAffinityPlan[];
  /** Proxmox VE 9: the negative resource-affinity rule keeping the control planes apart, when there is a node for each of two or more. */
  readonly controlPlanesApart?: { readonly rule: string; readonly vms: readonly string[]; readonly resources: readonly string[]; readonly comment: string };
}

export interface HaResourcePlan {
  readonly vm: string;
  /** The HA resource id, `vm:<VM id>`. */
  readonly resource: string;
  readonly comment: string;
  /** Proxmox VE 8: the group it belongs to. */
  readonly group?: string;
}

export interface HaGroupPlan {
  readonly group: string;
  readonly node: string;
  /** Restricted: the members may run only on `node` (control planes); otherwise they prefer it (workers). */
  readonly restricted: boolean;
  readonly comment: string;
}

export interface HaNodeAffinityPlan {
  readonly vm: string;
  readonly rule: string;
  readonly resource: string;
  readonly node: string;
  readonly comment: string;
}

/** HA ids are datacenter-wide: prefixed by the tool and the cluster name (unique within a datacenter); '_' separates the parts, which never hold one. */
const haId = (config: ClusterConfig, ...parts: (string | number)[]) => ["pve-dualnet", config.name, ...parts].join("_");

function planHa(config: ClusterConfig, vms: readonly VmPlan[], spread: ControlPlaneSpread): HaPlan | undefined {
  if (!config.proxmox.ha.enabled) return undefined;
  const version = config.proxmox.version;
  const groups = new Map<string, HaGroupPlan>();
  const groupFor = (vm: VmPlan) => {
    const restricted = vm.role === "control-plane";
    const group = haId(config, vm.node, ...(restricted ? ["only"] : []));
    if (!groups.has(group)) {
      const comment = restricted
        ? `Control planes of ${config.name} on ${vm.node} only: HA restarts them there, never elsewhere (pve-dualnet)`
        : `Workers of ${config.name} placed on ${vm.node}: elsewhere while it is down, back when it returns (pve-dualnet)`;
      groups.set(group, { group, node: vm.node, restricted, comment });
    }
    return group;
  };
  const resources = vms.map((vm) => ({
    vm: vm.name,
    resource: `vm:${vm.id}`,
    comment: `Kubernetes ${vm.role} node ${vm.name} of ${config.name} (pve-dualnet)`,
    ...(version === 8 ? { group: groupFor(vm) } : {}),
  }));
  const nodeAffinity =
    version === 9
      ? vms.map((vm) => ({ vm: vm.name, rule: haId(config, `vm${vm.id}`), resource: `vm:${vm.id}`, node: vm.node, comment: `${vm.name} prefers ${vm.node}, where pve-dualnet places it (pve-dualnet)` }))
      : [];
  const controlPlanes = vms.filter((vm) => vm.role === "control-plane");
  const apart = version === 9 && spread.separable && spread.most === 1;
  return {
    version,
    resources,
    groups: [...groups.values()],
    nodeAffinity,
    ...(apart
      ? {
          controlPlanesApart: {
            rule: haId(config, "control-planes"),
            vms: controlPlanes.map((vm) => vm.name),
            resources: controlPlanes.map((vm) => `vm:${vm.id}`),
            comment: `Control planes of ${config.name} on separate nodes: one failed host takes one etcd member (pve-dualnet)`,
          },
        }
      : {}),
  };
}

/**
 * How to spread control planes that share a node while others have fewer: which pinned ones to
 * move where (each to the node with the fewest control planes at that point), until no node
 * holds more than the fewest possible.
 */
export function sharedNodeFix(config: ClusterConfig, spread: ControlPlaneSpread): string {
  const counts = new Map(config.proxmox.nodes.map((n) => [n.name, spread.byNode.get(n.name)?.length ?? 0]));
  const movers = [...spread.byNode].flatMap(([node, members]) => {
    // The last ones pinned there move; one without node: stays (it went there only because the others were as full).
    const pinned = members.filter((m) => config.vms[m.index]!.node !== undefined);
    const excess = Math.min(pinned.length, members.length - spread.fewestPossible);
    return excess > 0 ? pinned.slice(-excess).map((m) => ({ ...m, node })) : [];
  });
  const moves = movers
    .sort((a, b) => a.index - b.index)
    .map((m) => {
      const target = [...counts].reduce((best, next) => (next[1] < best[1] ? next : best))[0];
      counts.set(m.node, counts.get(m.node)! - 1);
      counts.set(target, counts.get(target)! + 1);
      return `vms[${m.index}].node: ${target} (${m.name})`;
    });
  return `Set ${moves.join(" and ")}, or remove node: from ${moves.length === 1 ? "it" : "them"} to let pve-dualnet place ${moves.length === 1 ? "it" : "them"}.`;
}

/**
 * What the control planes' placement means when a host fails (etcd keeps quorum while a majority
 * of its members run), as warnings; a placement the HA rules would contradict is validation's
 * error (config/validate.ts).
 */
export function placementWarnings(config: ClusterConfig, spread: ControlPlaneSpread): string[] {
  const warnings: string[] = [];
  const { count, tolerated, most, fewestPossible, byNode, free } = spread;
  const nodes = config.proxmox.nodes.length;
  if (count >= 2 && count % 2 === 0) {
    warnings.push(
      `${count} control planes: etcd needs ${count / 2 + 1} of them for quorum, so ${count} tolerate ${tolerated === 0 ? "no failure" : `${tolerated} failure${tolerated === 1 ? "" : "s"}`}, as ${count - 1} do, with one more member to lose. Use ${count - 1} or ${count + 1} control planes.`,
    );
  }
  if (count === 1 && config.proxmox.ha.enabled) {
    warnings.push(
      `one control plane with proxmox.ha: when its host fails, the Kubernetes API and etcd are down until Proxmox HA has recovered ${config.vms.find((vm) => vm.role === "control-plane")!.name} on another node (only from shared or replicated storage). Three control planes on three Proxmox nodes keep the API up through a failed host.`,
    );
  }
  if (count >= 3 && most > tolerated) {
    const [busiest, members] = [...byNode].find(([, cps]) => cps.length === most)!;
    const names = members.map((m) => m.name).join(", ").replace(/, ([^,]*)$/, " and $1");
    const loss = `losing ${busiest} takes ${most} of ${count} etcd members and quorum with them (the Kubernetes API stops)`;
    if (fewestPossible <= tolerated) {
      // Another placement would survive: the pinned nodes stand in the way (validation makes this an error with proxmox.ha).
      warnings.push(`control planes ${names} share Proxmox node ${busiest} while ${free.length ? `${free.join(", ")} ${free.length === 1 ? "has" : "have"} none` : "other nodes have fewer"}: ${loss}. ${sharedNodeFix(config, spread)}`);
    } else {
      const needed = Math.ceil(count / Math.max(1, tolerated));
      warnings.push(
        nodes === 1
          ? `all ${count} control planes (${names}) run on the one Proxmox node ${busiest}: they survive a failed VM, not a failed host; losing ${busiest} takes every etcd member and quorum with them. For a cluster that survives a host, add Proxmox nodes: on ${needed} or more, none needs more than ${tolerated} (pve-dualnet spreads those without node: so).`
          : `${nodes} Proxmox nodes for ${count} control planes: ${busiest} holds ${names}, and ${loss}. Add Proxmox nodes: on ${needed} or more, none needs more than ${tolerated} (pve-dualnet spreads those without node: so)${count % 2 === 0 ? `, or use ${count - 1} control planes` : ""}.`,
      );
    }
  }
  if (config.proxmox.ha.enabled && config.proxmox.version === 9 && count >= 2 && !spread.separable && nodes >= 2) {
    warnings.push(
      `proxmox.ha: no anti-affinity rule for the ${count} control planes: ${nodes} Proxmox nodes cannot keep them apart (Proxmox drops a negative resource-affinity rule with more resources than nodes); each prefers its planned node only.`,
    );
  }
  return warnings;
}

/** The API server VIP: as configured, or by default the internal network's tenth address with 2+ control planes. */
export function apiServerVip(config: ClusterConfig): string | undefined {
  const configured = config.kubernetes.apiServer.vip;
  if (configured) return configured;
  const controlPlanes = config.vms.filter((vm) => vm.role === "control-plane").length;
  return controlPlanes >= 2 ? nthAddress(parseSubnet(config.networks.internal.cidr), 10) : undefined;
}

/**
 * The plan of a valid description. `resolved` is the resolution validation checked (resolve.ts);
 * the plan reads its values rather than working them out again.
 */
export function planCluster(config: ClusterConfig, inputs: PlanInputs = { sshKeys: [] }, resolved: ResolvedCluster = resolveCluster(config)): ClusterPlan {
  const subnets = {
    external: parseSubnet(config.networks.external.cidr),
    internal: parseSubnet(config.networks.internal.cidr),
    pod: parseSubnet(config.kubernetes.podCidr),
    service: parseSubnet(config.kubernetes.serviceCidr),
  };
  const hosts = planHosts(config, resolved, subnets);
  const vms = planVms(config, resolved, subnets);
  const spread = controlPlaneSpread(config, vms.map((vm) => vm.node));
  const ha = planHa(config, vms, spread);
  const facts = cniFacts(config);
  const mtu = planMtu(config, vms.map((vm) => vm.nics[1].mtu), facts);
  const cni = planCni(facts, mtu.overlay);
  const loadBalancer = planLoadBalancer(config);
  const ipv6 = planIpv6(config);
  return {
    config,
    stacks: planStacks(config, vms, ha),
    subnets,
    // Validation refuses an external network without a gateway.
    gateway: config.networks.external.gateway!,
    dns: { servers: config.networks.external.dns.map((ip) => (ip.includes(":") ? canonicalIpv6(ip) : ip)), searchDomain: config.networks.external.searchDomain },
    ...(ipv6 ? { ipv6 } : {}),
    kubernetesNetwork: planKubernetesNetwork(config),
    firewallSources: {
      ...(config.firewall.ssh ? { ssh: config.firewall.ssh.map(canonicalSource) } : {}),
      rules: config.firewall.rules.map((rule) => canonicalSource(rule.from)),
    },
    hosts,
    vms,
    ha,
    mtu,
    cni,
    apiServer: planApiServer(config, vms),
    ...(loadBalancer ? { loadBalancer } : {}),
    sshKeys: inputs.sshKeys,
    warnings: planWarnings(config, { vms, cni, spread, loadBalancer, sshKeys: inputs.sshKeys }),
  };
}

/** Each Proxmox host: its interfaces in file order, bridges, gateway, SSH address, peers. */
function planHosts(config: ClusterConfig, resolved: ResolvedCluster, subnets: Record<NetworkRole, Subnet>): HostPlan[] {
  const internalAddresses = new Map(
    config.proxmox.nodes.map((node) => {
      const bridge = roleBridge(node, "internal");
      return [node.name, bridge?.address ? splitAddress(bridge.address).ip : undefined] as const;
    }),
  );
  const internalAddresses6 = new Map(
    config.proxmox.nodes.map((node) => {
      const address6 = roleBridge(node, "internal")?.address6;
      return [node.name, address6 ? canonicalIpv6(splitAddress(address6).ip) : undefined] as const;
    }),
  );
  return resolved.hosts.map(({ config: node, mtus }) => {
    const gateway = hostGateway(node, config);
    const gateway6 = hostGateway6(node, config);
    const interfaces = [...node.interfaces]
      .map((iface, position) => ({ iface, position }))
      .sort((a, b) => KIND_ORDER[a.iface.kind] - KIND_ORDER[b.iface.kind] || a.position - b.position)
      .map(({ iface }) => ({
        config: iface,
        name: iface.name,
        mtu: mtus.get(iface.name)!,
        address: interfaceAddress(iface, subnets),
        gateway: gateway?.interface === iface.name ? gateway.ip : undefined,
        mac: iface.kind === "nic" ? iface.mac?.toLowerCase() : undefined,
        ...(iface.address6 ? { address6: interfaceAddress6(iface, config) } : {}),
        ...(gateway6?.interface === iface.name ? { gateway6: gateway6.ip } : {}),
      }));
    const bridgeFor = (role: NetworkRole) => interfaces.find((i) => i.config.kind === "bridge" && i.config.network === role)!;
    const externalIp = bridgeFor("external").address && splitAddress(bridgeFor("external").address!).ip;
    const peers = [...internalAddresses].filter(([name, ip]) => name !== node.name && ip).map(([, ip]) => ip!);
    const peers6 = [...internalAddresses6].filter(([name, ip]) => name !== node.name && ip).map(([, ip]) => ip!);
    return {
      name: node.name,
      ssh: { host: node.ssh.host ?? externalIp ?? "", user: node.ssh.user, port: node.ssh.port },
      interfaces,
      bridges: { external: bridgeFor("external"), internal: bridgeFor("internal") },
      gateway,
      ...(gateway6 ? { gateway6 } : {}),
      internalAddress: internalAddresses.get(node.name),
      ...(bridgeFor("internal").address6 ? { internalAddress6: splitAddress(bridgeFor("internal").address6!).ip } : {}),
      peers,
      ...(peers6.length ? { peers6 } : {}),
      carrier: carrierInterfaces(node.interfaces),
      firewallBackend: config.proxmox.firewallBackend,
    };
  });
}

/** Each node VM, from its resolution: the rest of its defaults and its two NICs. */
function planVms(config: ClusterConfig, resolved: ResolvedCluster, subnets: Record<NetworkRole, Subnet>): VmPlan[] {
  const d = config.vmDefaults;
  return resolved.vms.map(({ config: vm, node, cpu, vcpus, memory, disk, source, machine, nics }) => {
    const firewall = config.firewall.enabled;
    // Validation requires ip.<role>6 exactly where networks.<role>.ipv6 is set.
    const ipv6Of = (role: NetworkRole): Pick<PlannedNic, "ip6" | "prefix6" | "gateway6"> => {
      const network = config.networks[role].ipv6;
      const ip = vm.ip[role === "external" ? "external6" : "internal6"];
      if (!network || ip === undefined) return {};
      return {
        ip6: canonicalIpv6(ip),
        prefix6: parseSubnet6(network.cidr).prefix,
        ...(role === "external" && network.gateway ? { gateway6: canonicalIpv6(network.gateway) } : {}),
      };
    };
    const nic = ({ role, index, mac, bridge, mtu }: (typeof nics)[number]): PlannedNic => ({
      role,
      index,
      // A valid description puts every VM on a declared node with a bridge for each network.
      bridge: bridge!.name,
      mac,
      ip: vm.ip[role],
      prefix: subnets[role].prefix,
      gateway: role === "external" ? config.networks.external.gateway : undefined,
      mtu: mtu!,
      bridgeMtu: bridge!.mtu,
      queues: Math.min(vcpus, MAX_VIRTIO_QUEUES),
      firewall,
      guestName: d.cloudInit.networkData.interfaceNames[index]!,
      ...ipv6Of(role),
    });
    const planned: [PlannedNic, PlannedNic] = [nic(nics[0]), nic(nics[1])];
    return {
      name: vm.name,
      id: vm.id,
      role: vm.role,
      node,
      cpu,
      vcpus,
      machine,
      memory,
      disk,
      source: source!,
      agent: vm.agent ?? d.agent,
      onBoot: vm.onBoot ?? d.onBoot,
      protection: vm.protection ?? d.protection,
      tags: [...new Set([...(vm.tags ?? d.tags), vm.role])].sort(),
      description: vm.description ?? `Kubernetes ${vm.role} node of ${config.name} (managed by pve-dualnet)`,
      cloudInit: d.cloudInit,
      nics: planned,
      // IPv4 first; the IPv6 address only when Kubernetes is dual-stack (it always is with internal IPv6).
      nodeIps: [planned[1].ip, ...(dualStackOf(config)?.kubernetes && planned[1].ip6 ? [planned[1].ip6] : [])],
    };
  });
}

/** Where every node reaches the API, and every name its certificate covers. */
function planApiServer(config: ClusterConfig, vms: readonly VmPlan[]): ApiServerPlan {
  const controlPlanes = vms.filter((vm) => vm.role === "control-plane");
  const api = config.kubernetes.apiServer;
  const vip = apiServerVip(config);
  const host = vip ?? controlPlanes[0]?.nics[1].ip ?? "";
  const external = api.externalAccess.enabled;
  const certSans = [
    ...(vip ? [vip] : []),
    ...controlPlanes.flatMap((vm) => [vm.nics[1].ip, vm.name]),
    ...(external ? [...controlPlanes.map((vm) => vm.nics[0].ip), ...api.externalAccess.names] : []),
    // Dual-stack: the control planes' IPv6 addresses (canonical) after every IPv4 name.
    ...controlPlanes.flatMap((vm) => (vm.nics[1].ip6 ? [vm.nics[1].ip6] : [])),
    ...(external ? controlPlanes.flatMap((vm) => (vm.nics[0].ip6 ? [vm.nics[0].ip6] : [])) : []),
  ];
  return { vip, host, port: api.port, endpoint: `${host}:${api.port}`, certSans: [...new Set(certSans)], external };
}

/** What the user should know that does not stop the synth, in a stable order. */
function planWarnings(
  config: ClusterConfig,
  plan: { vms: readonly VmPlan[]; cni: CniPlan; spread: ControlPlaneSpread; loadBalancer?: LoadBalancerPlan; sshKeys: readonly string[] },
): string[] {
  const { vms, cni, spread, loadBalancer } = plan;
  const warnings: string[] = [];
  const offloaded = vms.filter((vm) => vm.machine && TUNNEL_OFFLOAD_MACHINE.test(vm.machine));
  if (cni.encapsulation === "vxlan" && offloaded.length) {
    warnings.push(
      `machine ${offloaded[0]!.machine} (${offloaded.map((vm) => vm.name).join(", ")}) turns on virtio's host UDP-tunnel offload, which can break the overlay's VXLAN between Proxmox nodes (Proxmox bug #7627). Leave vmDefaults.machine unset (pc-i440fx-10.0 on Proxmox VE 9) unless the hosts run qemu-server 9.1.18 or later with machine 11.0+pve1.`,
    );
  }
  if (plan.sshKeys.length === 0) {
    warnings.push(
      "no SSH public key for the node VMs: the node setup (Ansible) cannot log in. Set vmDefaults.cloudInit.sshKeys or sshKeyFiles, or PVE_DUALNET_SSH_PUBLIC_KEYS.",
    );
  }
  warnings.push(...placementWarnings(config, spread));
  if (loadBalancer && config.firewall.enabled && loadBalancer.ports.length === 0) {
    warnings.push(
      `kubernetes.loadBalancer lists no ports: the VM firewall admits nothing to the pool's addresses (${loadBalancer.ranges.join(", ")}), so LoadBalancer services get an address nobody reaches. List the services' ports, e.g. ports: [{ protocol: tcp, ports: "80,443" }] (${DOC_LOAD_BALANCER}).`,
    );
  }
  // The routed layout answers ARP for its VMs (proxyArp) but writes no proxy NDP: their IPv6
  // reaches the host only where the upstream routes it there (docs/host-network.md, IPv6).
  config.proxmox.nodes.forEach((node, i) => {
    const hasIpv6 = node.interfaces.some((iface) => iface.address6 !== undefined);
    node.interfaces.forEach((iface, j) => {
      if (hasIpv6 && (iface.kind === "nic" || iface.kind === "bridge") && iface.proxyArp) {
        warnings.push(
          `proxmox.nodes[${i}].interfaces[${j}].proxyArp: ${node.name} forwards IPv6 for its VMs but writes no proxy NDP (the IPv6 counterpart of proxy ARP), so their IPv6 addresses reach it only if the upstream router routes their IPv6 network to ${node.name}'s IPv6 address. Ask the provider for a routed IPv6 prefix, or leave the VMs' network without IPv6 (docs/host-network.md, "IPv6 (dual-stack)").`,
        );
      }
    });
  });
  if (config.firewall.enabled && !config.firewall.datacenterEnabled) {
    warnings.push(
      `the VM firewall rules act only once the datacenter firewall is on, and Proxmox ships it off: until then every port of the node VMs is open. Turn it on without locking yourself out (${DOC_DATACENTER_FIREWALL}), then set firewall.datacenterEnabled: true.`,
    );
  }
  return warnings;
}

/** Where the docs say how to turn on the datacenter firewall. */
export const DOC_DATACENTER_FIREWALL = "docs/firewall.md, \"It acts only once the datacenter firewall is on\"";
/** Where the docs say how LoadBalancer services work. */
export const DOC_LOAD_BALANCER = "docs/load-balancer.md";

/** The LoadBalancer pool of a validated description, in address order; undefined when off. */
export function planLoadBalancer(config: ClusterConfig): LoadBalancerPlan | undefined {
  const lb = config.kubernetes.loadBalancer;
  if (!lb) return undefined;
  // Validation has made every entry a range of free external addresses, none overlapping another.
  const ranges = lb.addresses.map((text) => parseAddressRange(text)!).sort((a, b) => a.first - b.first);
  return {
    ranges: ranges.map(formatAddressRange),
    cidrs: ranges.flatMap(rangeToCidrs),
    size: ranges.reduce((n, r) => n + r.last - r.first + 1, 0),
    ports: lb.ports.map((p) => ({ protocol: p.protocol, ports: p.ports, source: p.from === "external" ? config.networks.external.cidr : p.from })),
    cloudProviderImage: lb.cloudProviderImage,
  };
}

/** The overlay rides on the internal NIC of every node, so the smallest one bounds it. */
export function planMtu(config: ClusterConfig, internalNicMtus: readonly number[], cni: Pick<CniFacts, "encapsulation" | "overhead" | "overhead6">): MtuPlan {
  const { encapsulation } = cni;
  // Dual-stack: the pods have one MTU for both families, so it must fit the costlier one
  // (flannel's and Calico's IPv6 VXLAN over the IPv6 underlay, 70 bytes against 50).
  const overhead = Math.max(cni.overhead, cni.overhead6 ?? 0);
  const internalNic = internalNicMtus.length ? Math.min(...internalNicMtus) : config.networks.internal.mtu;
  const maxOverlay = internalNic - overhead;
  return {
    underlay: { external: config.networks.external.mtu, internal: config.networks.internal.mtu },
    jumboFrames: { external: config.networks.external.jumboFrames, internal: config.networks.internal.jumboFrames },
    internalNic,
    encapsulation,
    overhead,
    ...(cni.overhead6 !== undefined ? { overheadByFamily: { ipv4: cni.overhead, ipv6: cni.overhead6 } } : {}),
    maxOverlay,
    overlay: config.kubernetes.cni.overlayMtu ?? maxOverlay,
    ...(config.networks.external.ipv6 || config.networks.internal.ipv6 ? { ipv6Minimum: IPV6_MIN_MTU } : {}),
  };
}

export { roleBridge, vlanParts };
export { DEFAULT_MACHINE, derivedMac, MAX_VIRTIO_QUEUES, vcpusOf, vmPlacement } from "./resolve";
