/**
 * The host layouts of the design documents (003_*), as edits of the built-in example.
 * Each keeps vmbr1 as the internal network and changes how the external side is built.
 */
type Edit = (input: any) => void;

export const BOND_MODES = ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"] as const;

const node = (c: any) => c.proxmox.nodes[0];
// A fresh object per use: tests edit the interfaces they get (dualStack() adds address6).
const internalBridge = () => ({ kind: "bridge", name: "vmbr1", network: "internal", address: "10.0.0.2", ports: ["enp5s0"] });

const moveExternal = (c: any, cidr: string, gateway: string, first: number) => {
  c.networks.external.cidr = cidr;
  c.networks.external.gateway = gateway;
  const base = cidr.split("/")[0]!.split(".").slice(0, 3).join(".");
  c.vms.forEach((vm: any, i: number) => (vm.ip.external = `${base}.${first + i}`));
};

export const layouts: Record<string, Edit> = {
  "dual bridge (default)": () => {},

  /** A hosting provider that allows one MAC: the uplink routes for the VMs with proxy ARP. */
  routed: (c) => {
    moveExternal(c, "203.0.113.16/28", "203.0.113.17", 18);
    node(c).ssh = { host: "198.51.100.5" };
    node(c).interfaces = [
      { kind: "nic", name: "eno0", address: "198.51.100.5/29", gateway: "198.51.100.1", ipForward: true, proxyArp: true },
      { kind: "nic", name: "enp5s0" },
      { kind: "bridge", name: "vmbr0", network: "external", address: "203.0.113.17", ports: [] },
      internalBridge(),
    ];
  },

  /** One public address: VMs sit on a private bridge masqueraded through the uplink. */
  nat: (c) => {
    moveExternal(c, "10.10.10.0/24", "10.10.10.1", 11);
    node(c).ssh = { host: "198.51.100.5" };
    node(c).interfaces = [
      { kind: "nic", name: "eno1", address: "198.51.100.5/24", gateway: "198.51.100.1" },
      { kind: "nic", name: "enp5s0" },
      { kind: "bridge", name: "vmbr0", network: "external", address: "10.10.10.1", ports: [], masquerade: { outInterface: "eno1" } },
      internalBridge(),
    ];
  },

  /** LACP bond of two NICs as the internal bridge's port. */
  "bond as bridge port": (c) => {
    node(c).interfaces = [
      { kind: "nic", name: "enp4s0" },
      { kind: "nic", name: "eno1" },
      { kind: "nic", name: "eno2" },
      { kind: "bond", name: "bond0", slaves: ["eno1", "eno2"], mode: "802.3ad", xmitHashPolicy: "layer2+3", lacpRate: "fast" },
      { kind: "bridge", name: "vmbr0", network: "external", address: "192.168.0.2", ports: ["enp4s0"] },
      { ...internalBridge(), ports: ["bond0"] },
    ];
  },

  /** A bond with its own address (storage network) beside the two bridges. */
  "bond with address": (c) => {
    node(c).interfaces.push(
      { kind: "nic", name: "eno1" },
      { kind: "nic", name: "eno2" },
      { kind: "bond", name: "bond0", slaves: ["eno1", "eno2"], mode: "802.3ad", xmitHashPolicy: "layer2+3", address: "192.168.1.2/24" },
    );
  },

  /** The internal bridge on a tagged sub-interface (VLAN 100 on a trunk port), with STP. */
  "vlan sub-interface as bridge port": (c) => {
    // STP listens and learns for 2 x 15 s before the bridge forwards: verification must wait that long.
    c.proxmox.apply = { verifyTimeout: 40, confirmTimeout: 60 };
    node(c).interfaces = [
      { kind: "nic", name: "enp4s0" },
      { kind: "nic", name: "enp5s0" },
      { kind: "vlan", name: "enp5s0.100" },
      { kind: "bridge", name: "vmbr0", network: "external", address: "192.168.0.2", ports: ["enp4s0"] },
      { ...internalBridge(), ports: ["enp5s0.100"], stp: true, forwardDelay: 15 },
    ];
  },

  /** A VLAN-aware external bridge and a named VLAN interface. */
  "vlan-aware bridge": (c) => {
    node(c).interfaces = [
      { kind: "nic", name: "enp4s0" },
      { kind: "nic", name: "enp5s0" },
      { kind: "vlan", name: "mgmt", rawDevice: "enp5s0", id: 20, address: "172.20.0.2/24" },
      { kind: "bridge", name: "vmbr0", network: "external", address: "192.168.0.2", ports: ["enp4s0"], vlanAware: true, vids: "2-4094" },
      internalBridge(),
    ];
  },

  /** One bond of each of the seven Linux modes, each on its own pair of NICs with its own address. */
  "every bond mode": (c) => {
    BOND_MODES.forEach((mode, i) => {
      node(c).interfaces.push(
        { kind: "nic", name: `eno${2 * i + 1}` },
        { kind: "nic", name: `eno${2 * i + 2}` },
        {
          kind: "bond",
          name: `bond${i}`,
          slaves: [`eno${2 * i + 1}`, `eno${2 * i + 2}`],
          mode,
          address: `192.168.${11 + i}.2/24`,
          ...(mode === "balance-xor" || mode === "802.3ad" ? { xmitHashPolicy: "layer3+4" } : {}),
          ...(mode === "802.3ad" ? { lacpRate: "fast" } : {}),
          ...(mode === "active-backup" ? { primary: `eno${2 * i + 1}` } : {}),
        },
      );
    });
  },

  /**
   * NICs pinned the Proxmox VE 9 way (pve-network-interface-pinning: nic0, nic1, matched by MAC),
   * with their MACs, and a bond of two pinned NICs with an address.
   */
  "pinned NIC names (nicN, by MAC)": (c) => {
    node(c).interfaces = [
      { kind: "nic", name: "nic0", mac: "bc:24:11:00:00:01" },
      { kind: "nic", name: "nic1", mac: "bc:24:11:00:00:02" },
      { kind: "nic", name: "nic2", mac: "bc:24:11:00:00:03" },
      { kind: "nic", name: "nic3", mac: "bc:24:11:00:00:04" },
      { kind: "bond", name: "bond0", slaves: ["nic2", "nic3"], mode: "active-backup", primary: "nic2", address: "192.168.1.2/24" },
      { kind: "bridge", name: "vmbr0", network: "external", address: "192.168.0.2", ports: ["nic0"] },
      { ...internalBridge(), ports: ["nic1"] },
    ];
  },

  /** Jumbo frames on the internal network. */
  "jumbo internal network": (c) => {
    c.networks.internal.mtu = 9000;
    c.networks.internal.jumboFrames = true;
  },
};


/** The internal bridge on a bond of the given mode. */
export const bondMode = (mode: string): Edit => (c) => {
  layouts["bond as bridge port"]!(c);
  const bond = node(c).interfaces.find((i: any) => i.kind === "bond");
  bond.mode = mode;
  if (mode !== "balance-xor" && mode !== "802.3ad") delete bond.xmitHashPolicy;
  if (mode !== "802.3ad") delete bond.lacpRate;
  if (mode === "active-backup") bond.primary = "eno1";
};
