/**
 * The description resolved once: every host's interface MTUs and bridges, every VM's Proxmox
 * node, defaults and derived values (MACs, CPU and vCPUs, source, disk, NIC MTUs). Validation
 * (validate.ts) checks these values and the plan (plan.ts) is built from them, so no value has two
 * derivations that could drift apart.
 *
 * Resolution runs before validation, on descriptions validation will refuse: what cannot be
 * resolved (a VM on a node that is not declared, a node without a bridge for a network, a VM
 * without a source) is left undefined for validation to report; the plan, built only from a valid
 * description, may rely on it.
 */
import { hostInterfaceMtus, roleBridge } from "./mtu";
import { NETWORK_ROLES, type ClusterConfig, type NetworkRole, type ProxmoxNodeConfig, type VmConfig } from "./schema";

/** Proxmox caps virtio multiqueue at 64 queues. */
export const MAX_VIRTIO_QUEUES = 64;

/**
 * The node VMs' machine type when the description names none. Machine versions 10.2 and 11.0
 * turn on virtio-net's host UDP-tunnel GSO, which breaks VXLAN leaving the host over a physical
 * NIC (qemu-server 9.1.18 changelog, Proxmox bug #7627; Proxmox's own workaround is pinning
 * 10.1); 10.0 has no such feature and is the QEMU every Proxmox VE 9 host has had since 9.0.
 * Proxmox VE 8's QEMU 9.2 predates the feature: its default stays.
 */
export const DEFAULT_MACHINE: Record<ClusterConfig["proxmox"]["version"], string | undefined> = { 9: "pc-i440fx-10.0", 8: undefined };

/** `02:<nic>:<vm id, 4 bytes>`: locally administered, unicast, unique per (VM, NIC). */
export function derivedMac(vmId: number, nicIndex: number): string {
  const bytes = [0x02, nicIndex, (vmId >>> 24) & 0xff, (vmId >>> 16) & 0xff, (vmId >>> 8) & 0xff, vmId & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":").toUpperCase();
}

export function vcpusOf(cpu: { cores: number; sockets: number }): number {
  return cpu.cores * cpu.sockets;
}

/** A Proxmox node's interfaces as resolved: every MTU, and the bridge of each network (if any). */
export interface ResolvedHost {
  readonly config: ProxmoxNodeConfig;
  /** The MTU of every interface, by name (config/mtu.ts). */
  readonly mtus: ReadonlyMap<string, number>;
  /** The bridge serving each network; undefined where none does (reported by validation). */
  readonly bridges: Readonly<Record<NetworkRole, { readonly name: string; readonly mtu: number } | undefined>>;
}

/** One NIC of a VM as resolved. */
export interface ResolvedNic {
  readonly role: NetworkRole;
  /** 0 external, 1 internal: the order Proxmox and cloud-init match them in. */
  readonly index: number;
  /** Upper case: the description's MAC, or the one derived from the VM id and the NIC's index. */
  readonly mac: string;
  /** The bridge it plugs into and that bridge's MTU; undefined when the VM's node has none (or is not declared). */
  readonly bridge?: { readonly name: string; readonly mtu: number };
  /** The NIC's own MTU: the description's, or the bridge's; undefined without a bridge. */
  readonly mtu?: number;
}

type Defaults = ClusterConfig["vmDefaults"];

/** One VM with every default applied. */
export interface ResolvedVm {
  readonly config: VmConfig;
  /** Its position in vms. */
  readonly index: number;
  /** Its Proxmox node: as pinned, or where vmPlacement puts it. */
  readonly node: string;
  readonly cpu: Defaults["cpu"];
  readonly vcpus: number;
  readonly memory: number;
  readonly disk: Defaults["disk"];
  /** Undefined when neither the VM nor vmDefaults names one (reported by validation). */
  readonly source?: NonNullable<Defaults["source"]>;
  /** QEMU machine type; undefined leaves Proxmox's default. */
  readonly machine?: string;
  /** [external, internal]. */
  readonly nics: readonly [ResolvedNic, ResolvedNic];
}

export interface ResolvedCluster {
  /** In proxmox.nodes order. */
  readonly hosts: readonly ResolvedHost[];
  /** In vms order. */
  readonly vms: readonly ResolvedVm[];
}

export function resolveHost(node: ProxmoxNodeConfig, networks: ClusterConfig["networks"]): ResolvedHost {
  const mtus = hostInterfaceMtus(node, networks);
  const bridge = (role: NetworkRole) => {
    const found = roleBridge(node, role);
    return found && { name: found.name, mtu: mtus.get(found.name)! };
  };
  return { config: node, mtus, bridges: { external: bridge("external"), internal: bridge("internal") } };
}

export function resolveCluster(config: ClusterConfig): ResolvedCluster {
  const hosts = config.proxmox.nodes.map((node) => resolveHost(node, config.networks));
  const hostByName = new Map(hosts.map((h) => [h.config.name, h]));
  const placement = vmPlacement(config);
  const d = config.vmDefaults;
  const vms = config.vms.map((vm, index): ResolvedVm => {
    const host = hostByName.get(placement[index]!);
    const cpu = { ...d.cpu, ...vm.cpu };
    const nic = (role: NetworkRole): ResolvedNic => {
      const index = NETWORK_ROLES.indexOf(role);
      const bridge = host?.bridges[role];
      return { role, index, mac: (vm.mac?.[role] ?? derivedMac(vm.id, index)).toUpperCase(), bridge, mtu: bridge && (vm.mtu?.[role] ?? bridge.mtu) };
    };
    return {
      config: vm,
      index,
      node: placement[index]!,
      cpu,
      vcpus: vcpusOf(cpu),
      memory: vm.memory ?? d.memory,
      disk: { ...d.disk, ...vm.disk },
      source: vm.source ?? d.source,
      machine: vm.machine ?? d.machine ?? DEFAULT_MACHINE[config.proxmox.version],
      nics: [nic("external"), nic("internal")],
    };
  });
  return { hosts, vms };
}

/**
 * The Proxmox node of every VM, in VM order (docs/vms.md, "Placement and HA"). Control planes
 * pinned with `node:` are counted first (an unpinned one never takes a node a later one is pinned
 * to); then, in list order, a VM with `node:` stays there, any other control plane goes to the node
 * with the fewest control planes (then the fewest VMs, then the first in proxmox.nodes), and any
 * other worker to the node with the fewest VMs (then the first). A VM's node depends only on the
 * pinned control planes and the VMs before it in the list: a VM added at the end, or the last one
 * removed, moves no other. With every control plane listed before the workers and none pinned,
 * this is the round-robin of earlier versions, VM for VM.
 */
export function vmPlacement(config: ClusterConfig): string[] {
  const order = config.proxmox.nodes.map((n) => n.name);
  const vms = new Map<string, number>(order.map((n) => [n, 0]));
  const controlPlanes = new Map<string, number>(order.map((n) => [n, 0]));
  const add = (node: string, role: VmConfig["role"]) => {
    vms.set(node, (vms.get(node) ?? 0) + 1);
    if (role === "control-plane") controlPlanes.set(node, (controlPlanes.get(node) ?? 0) + 1);
  };
  /** The first node of proxmox.nodes with the smallest key, compared element by element. */
  const fewest = (key: (node: string) => number[]) => {
    let best = order[0]!;
    let bestKey = key(best);
    for (const node of order.slice(1)) {
      const k = key(node);
      const i = k.findIndex((v, j) => v !== bestKey[j]);
      if (i >= 0 && k[i]! < bestKey[i]!) [best, bestKey] = [node, k];
    }
    return best;
  };
  for (const vm of config.vms) if (vm.role === "control-plane" && vm.node !== undefined) add(vm.node, vm.role);
  return config.vms.map((vm) => {
    if (vm.node !== undefined) {
      if (vm.role !== "control-plane") add(vm.node, vm.role);
      return vm.node;
    }
    const node = vm.role === "control-plane" ? fewest((n) => [controlPlanes.get(n)!, vms.get(n)!]) : fewest((n) => [vms.get(n)!]);
    add(node, vm.role);
    return node;
  });
}
