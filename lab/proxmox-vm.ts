/**
 * A node VM started the way Proxmox VE 9 starts it, from the `proxmox_virtual_environment_vm`
 * resource that synth wrote (and the bpg provider would send): the NICs' QEMU arguments and the
 * NoCloud seed, as qemu-server builds them. Sources (qemu-server master at 9.2.6, pve-common 9.2.1):
 *
 * - NICs: `print_netdev_full` and `print_netdevice_full` in src/PVE/QemuServer.pm. A tap
 *   `tap<vmid>i<N>` with `queues=Q`; `virtio-net-pci,mac=…,netdev=netN,bus=pci.0,addr=…,id=netN`
 *   then, with Q > 1, `vectors=2Q+2,mq=on,packed=on`, then `rx_queue_size=1024,tx_queue_size=256`
 *   and `host_mtu`: the NIC's mtu, or the bridge's when it has none (machine >= 10.0+pve1 always
 *   writes it). PCI slots from src/PVE/QemuServer/PCI.pm: net0 0x12, net1 0x13 on pci.0. The tap
 *   gets the bridge's MTU (pve-common src/PVE/Network.pm `tap_create`), whatever the NIC's mtu.
 * - Seed: src/PVE/QemuServer/Cloudinit.pm. user-data (`cloudinit_userdata`): hostname,
 *   manage_etc_hosts, fqdn, user, ssh_authorized_keys, `chpasswd: expire: False`, `users: [default]`,
 *   and `package_upgrade: true` unless ciupgrade is 0; network-config version 1
 *   (`nocloud_network`): one `physical` entry named ethN per netN with an ipconfigN, its MAC in
 *   lower case, a static subnet with a dotted netmask and the gateway where ipconfigN has one,
 *   then a `static6` subnet with the address in CIDR form and its gateway where ipconfigN has ip6,
 *   and one global `nameserver` entry (no MTU anywhere: the guest learns it from host_mtu);
 *   meta-data: `instance-id: sha1(user-data . network-config)`; a network-data snippet (cicustom)
 *   replaces the generated network-config.
 *
 * Where the lab differs from a Proxmox host, and why: QEMU is Debian's (7.2, TCG), so the
 * machine type is its newest i440fx (`pc`; no `pc-i440fx-10.0`, no `+pveN` suffixes, no
 * host_tunnel property) and there is no vhost-net; the kernel is booted directly from the image
 * (no bootloader on the disk) and the root disk is a virtio-blk device; none of that is what the
 * lab judges.
 */
import { createHash } from "node:crypto";
import type { Nic, NicSpec } from "./qemu";

/** One family of an ip_config block: bpg's `address` (CIDR form) and optional `gateway`. */
export interface IpConfig {
  readonly address: string;
  readonly gateway?: string;
}

/** What the lab reads of a synthesized proxmox_virtual_environment_vm (Terraform JSON keys). */
export interface VmResource {
  readonly name: string;
  readonly vm_id: number;
  readonly cpu: { readonly cores: number; readonly sockets: number; readonly type: string };
  readonly memory: { readonly dedicated: number };
  readonly machine?: string;
  readonly network_device: readonly {
    readonly bridge: string;
    readonly mac_address: string;
    readonly mtu: number | null;
    readonly queues: number | null;
    readonly model: string;
  }[];
  readonly initialization: {
    readonly ip_config: readonly { readonly ipv4?: IpConfig; readonly ipv6?: IpConfig }[];
    readonly dns?: { readonly servers?: readonly string[]; readonly domain?: string };
    readonly user_account?: { readonly username?: string; readonly keys?: readonly string[] };
    readonly upgrade?: boolean;
    readonly network_data_file_id?: string;
  };
}

/** The NICs of a VM as qemu-server plugs them: `bridgeMtu` is each bridge's MTU on the host. */
export function proxmoxNics(vm: VmResource, bridgeMtu: (bridge: string) => number): NicSpec[] {
  return vm.network_device.map((device, index) => {
    if (device.model !== "virtio") throw new Error(`${vm.name}: net${index} is ${device.model}; the lab starts virtio NICs`);
    const queues = device.queues ?? 0;
    return {
      mac: device.mac_address,
      tap: `tap${vm.vm_id}i${index}`,
      bridge: device.bridge,
      queues: Math.max(queues, 1),
      // What the guest sees (host_mtu); the tap itself always gets the bridge's MTU.
      mtu: device.mtu && device.mtu !== 1 ? device.mtu : bridgeMtu(device.bridge),
      addr: `0x${(0x12 + index).toString(16)}`,
      qemuArgs: (nic: Nic, i: number) => qemuServerNicArgs(nic, i, queues),
    };
  });
}

/** `-netdev`/`-device` of one virtio NIC, in qemu-server's order (vhost-net left out: TCG). */
export function qemuServerNicArgs(nic: Nic, index: number, queues: number): string[] {
  const id = `net${index}`;
  const device = [`virtio-net-pci,mac=${nic.mac.toUpperCase()},netdev=${id},bus=pci.0,addr=${nic.addr},id=${id}`];
  if (queues > 1) device.push(`vectors=${2 * queues + 2},mq=on,packed=on`);
  device.push("rx_queue_size=1024,tx_queue_size=256", `host_mtu=${nic.mtu}`);
  return ["-netdev", `type=tap,id=${id},ifname=${nic.tap},script=no,downscript=no${queues ? `,queues=${queues}` : ""}`, "-device", device.join(",")];
}

/** The dotted netmask of a prefix length (qemu-server writes IPv4 masks so). */
const netmask = (prefix: number) => [24, 16, 8, 0].map((shift) => ((prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0) >>> shift) & 0xff).join(".");

/**
 * The NoCloud seed qemu-server writes for the VM. `snippet` is the network-data snippet's content
 * when the VM names one (network_data_file_id); `hostDns` stands in for the Proxmox host's own
 * /etc/resolv.conf, which qemu-server uses when the VM sets no DNS.
 */
export function proxmoxSeed(vm: VmResource, options: { snippet?: string; hostDns?: readonly string[] } = {}): Record<string, string> {
  const init = vm.initialization;
  const domain = init.dns?.domain;
  const user = init.user_account?.username;
  const keys = (init.user_account?.keys ?? []).filter((k) => k.trim());
  const userData = [
    "#cloud-config",
    `hostname: ${vm.name}`,
    "manage_etc_hosts: true",
    `fqdn: ${domain ? `${vm.name}.${domain}` : vm.name}`,
    ...(user ? [`user: ${user}`] : []),
    ...(user === "root" ? ["disable_root: False"] : []),
    ...(keys.length ? ["ssh_authorized_keys:", ...keys.map((k) => `  - ${k}`)] : []),
    "chpasswd:",
    "  expire: False",
    ...(user !== "root" ? ["users:", "  - default"] : []),
    ...(init.upgrade === false ? [] : ["package_upgrade: true"]),
    "",
  ].join("\n");

  let network = options.snippet;
  if (network === undefined) {
    const i = "    ";
    const lines = ["version: 1", "config:"];
    vm.network_device.forEach((device, index) => {
      const { ipv4, ipv6 } = init.ip_config[index] ?? {};
      if (!ipv4 && !ipv6) return;
      lines.push(`${i}- type: physical`, `${i}  name: eth${index}`, `${i}  mac_address: '${device.mac_address.toLowerCase()}'`, `${i}  subnets:`);
      if (ipv4) {
        const [address, prefix] = ipv4.address.split("/");
        lines.push(`${i}  - type: static`, `${i}    address: '${address}'`, `${i}    netmask: '${netmask(Number(prefix))}'`);
        if (ipv4.gateway) lines.push(`${i}    gateway: '${ipv4.gateway}'`);
      }
      if (ipv6) {
        lines.push(`${i}  - type: static6`, `${i}    address: '${ipv6.address}'`);
        if (ipv6.gateway) lines.push(`${i}    gateway: '${ipv6.gateway}'`);
      }
    });
    const servers = init.dns?.servers ?? options.hostDns ?? [];
    lines.push(`${i}- type: nameserver`);
    if (servers.length) lines.push(`${i}  address:`, ...servers.map((s) => `${i}  - '${s}'`));
    if (domain) lines.push(`${i}  search:`, `${i}  - '${domain}'`);
    network = lines.join("\n") + "\n";
  }
  const instance = createHash("sha1").update(userData + network).digest("hex");
  return { "user-data": userData, "network-config": network, "meta-data": `instance-id: ${instance}\n`, "vendor-data": "" };
}
