/**
 * The MTU chain: one underlay number per physical network; everything above is derived.
 *
 *   host NIC/bond/VLAN  >=  bridge  >=  VM NIC  >=  overlay + encapsulation overhead
 *
 * The encapsulation and its overhead are the CNI's facts (config/cni).
 */
import type { ClusterConfig, HostInterface, NetworkRole, ProxmoxNodeConfig } from "./schema";

export const DEFAULT_MTU = 1500;

/** The bridge serving `role` on a host, if declared. */
export function roleBridge(node: ProxmoxNodeConfig, role: NetworkRole) {
  return node.interfaces.find((i): i is Extract<HostInterface, { kind: "bridge" }> => i.kind === "bridge" && i.network === role);
}

/** Which interfaces sit directly above `name` (bridges over ports, VLANs over raw devices, bonds over slaves). */
export function uppersOf(interfaces: readonly HostInterface[], name: string): HostInterface[] {
  return interfaces.filter(
    (i) =>
      (i.kind === "bridge" && i.ports.includes(name)) ||
      (i.kind === "vlan" && vlanParts(i).rawDevice === name) ||
      (i.kind === "bond" && i.slaves.includes(name)),
  );
}

/** The raw device and VLAN id of a VLAN interface (`enp5s0.100` or explicit fields). */
export function vlanParts(vlan: Extract<HostInterface, { kind: "vlan" }>): { rawDevice?: string; id?: number } {
  const dot = vlan.name.lastIndexOf(".");
  const fromName =
    dot > 0 && /^\d+$/.test(vlan.name.slice(dot + 1))
      ? { rawDevice: vlan.name.slice(0, dot), id: Number(vlan.name.slice(dot + 1)) }
      : {};
  return { rawDevice: vlan.rawDevice ?? fromName.rawDevice, id: vlan.id ?? fromName.id };
}

/**
 * The MTU of every interface of one host.
 *
 * A bridge takes its network's underlay MTU; a lower interface takes the largest MTU of
 * what it carries (so a trunk carrying a jumbo VLAN is jumbo too). Overrides win and are
 * checked by the validator, not corrected here.
 */
export function hostInterfaceMtus(node: ProxmoxNodeConfig, networks: ClusterConfig["networks"]): Map<string, number> {
  const mtus = new Map<string, number>();
  const byName = new Map(node.interfaces.map((i) => [i.name, i]));
  const visiting = new Set<string>();

  const resolve = (iface: HostInterface): number => {
    const known = mtus.get(iface.name);
    if (known !== undefined) return known;
    if (visiting.has(iface.name)) return DEFAULT_MTU; // a cycle; the validator reports it
    visiting.add(iface.name);
    let mtu: number;
    if (iface.mtu !== undefined) {
      mtu = iface.mtu;
    } else if (iface.kind === "bridge") {
      mtu = iface.network ? networks[iface.network].mtu : DEFAULT_MTU;
    } else {
      const own = "network" in iface && iface.network ? networks[iface.network].mtu : DEFAULT_MTU;
      const carried = uppersOf(node.interfaces, iface.name).map((upper) => resolve(byName.get(upper.name)!));
      mtu = Math.max(own, ...carried);
    }
    visiting.delete(iface.name);
    mtus.set(iface.name, mtu);
    return mtu;
  };

  for (const iface of node.interfaces) resolve(iface);
  return mtus;
}
