/**
 * The boot lab's smoke test: both roles boot, are reachable and come up as configured.
 *
 *  - a node VM (trixie) with two multi-queue NICs, addressed by cloud-init from a NoCloud seed
 *    holding a version 1 network config without MTUs: the MTUs come from QEMU's host_mtu;
 *  - a Proxmox-like host (bookworm, cloud-init off) whose NICs are enp4s0/enp5s0 and whose
 *    bridges ifupdown2 brings up at boot, before and after a reboot.
 *
 * The network: a BridgedNetwork (lab/network.ts); SSH comes from its lan namespace, the router.
 */
import { BridgedNetwork, INTERNAL_MTU, LAN } from "./network";
import { canBootGuests, labKeyPair, Vm } from "./qemu";
import { canRunLabs } from "../__tests__/lab/netlab";

const NODE = { external: "192.168.0.11", internal: "10.0.0.11", macs: ["bc:24:11:0a:00:11", "bc:24:11:0a:01:11"] };
const HOST = { external: "192.168.0.2", internal: "10.0.0.2", macs: ["bc:24:11:0b:00:02", "bc:24:11:0b:01:02"] };

const steps: [string, number][] = [];
async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await run();
  } finally {
    steps.push([name, Date.now() - started]);
  }
}

/** Starts a guest as a step, its wait for a guest slot (other labs on the machine) a step of its own. */
async function startStep(role: string, options: Parameters<typeof Vm.start>[0]): Promise<Vm> {
  const started = Date.now();
  const vm = await Vm.start(options);
  steps.push([`${role}: wait for a guest slot`, vm.queuedMs], [`${role}: start QEMU`, Date.now() - started - vm.queuedMs]);
  return vm;
}

const nodeSeed = (publicKey: string) => ({
  "meta-data": "instance-id: smoke-node\nlocal-hostname: smoke-node\n",
  "user-data": ["#cloud-config", "users:", "  - name: lab", "    shell: /bin/bash", "    sudo: ALL=(ALL) NOPASSWD:ALL", `    ssh_authorized_keys: [${JSON.stringify(publicKey)}]`, ""].join("\n"),
  // As Proxmox writes it from ipconfig0/1: version 1, names by MAC, no MTU.
  "network-config": [
    "version: 1",
    "config:",
    "  - type: physical",
    "    name: eth0",
    `    mac_address: '${NODE.macs[0]}'`,
    "    subnets:",
    "      - type: static",
    `        address: '${NODE.external}/24'`,
    `        gateway: '${LAN.gateway}'`,
    "  - type: physical",
    "    name: eth1",
    `    mac_address: '${NODE.macs[1]}'`,
    "    subnets:",
    "      - type: static",
    `        address: '${NODE.internal}/24'`,
    "",
  ].join("\n"),
});

const HOST_INTERFACES = `auto lo
iface lo inet loopback

iface enp4s0 inet manual

iface enp5s0 inet manual
\tmtu ${INTERNAL_MTU}

auto vmbr0
iface vmbr0 inet static
\taddress ${HOST.external}/24
\tgateway ${LAN.gateway}
\tbridge-ports enp4s0
\tbridge-stp off
\tbridge-fd 0

auto vmbr1
iface vmbr1 inet static
\taddress ${HOST.internal}/24
\tbridge-ports enp5s0
\tbridge-stp off
\tbridge-fd 0
\tmtu ${INTERNAL_MTU}
`;

/** What the tests read of `ip -j addr` and `ip -j route`. */
interface IpEntry {
  readonly ifname: string;
  readonly mtu: number;
  readonly address: string;
  readonly master?: string;
  readonly addr_info: readonly { readonly family: string; readonly local: string; readonly prefixlen: number }[];
  readonly dst: string;
  readonly gateway?: string;
  readonly dev: string;
}

/** `ip -j` in the guest, parsed. */
async function ipJson(vm: Vm, args: string): Promise<IpEntry[]> {
  const r = await vm.ssh(`ip -j ${args}`);
  if (r.status !== 0) throw new Error(`ip -j ${args}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim() || "[]");
}

const addressesOf = (links: IpEntry[], name: string) =>
  links
    .find((l) => l.ifname === name)
    ?.addr_info.filter((a) => a.family === "inet")
    .map((a) => `${a.local}/${a.prefixlen}`);

describe("boot lab smoke", () => {
  let net: BridgedNetwork | undefined;
  const vms: Vm[] = [];

  beforeAll(async () => {
    if (!canRunLabs() || !canBootGuests()) throw new Error("the boot lab needs root, iproute2, ifupdown2, qemu-system-x86, qemu-utils, mmdebstrap and genisoimage (see lab/README.md)");
    net = await step("network namespaces and bridges", () => BridgedNetwork.create());
  });

  afterAll(async () => {
    await Promise.all(vms.map((vm) => vm.destroy()));
    await net?.destroy();
    const width = Math.max(...steps.map(([name]) => name.length));
    const total = steps.reduce((sum, [, ms]) => sum + ms, 0);
    console.log(
      [`boot lab smoke (${process.env.PVE_DUALNET_LAB_ACCEL === "kvm" ? "KVM" : "TCG"}), per step:`, ...[...steps, ["total", total] as [string, number]].map(([name, ms]) => `  ${name.padEnd(width)}  ${(ms / 1000).toFixed(1).padStart(6)} s`)].join("\n"),
    );
  });

  test("a trixie node VM comes up from its NoCloud seed: names, MTUs from host_mtu, queues, addresses, one default route", async () => {
    const { publicKey } = await labKeyPair();
    const vm = await startStep("node", {
      name: "smoke-node",
      image: "trixie",
      role: "node",
      netns: net!.host,
      smp: 2,
      nics: [
        { mac: NODE.macs[0], bridge: "vmbr0", mtu: 1500, queues: 2 },
        { mac: NODE.macs[1], bridge: "vmbr1", mtu: INTERNAL_MTU, queues: 2 },
      ],
      seed: nodeSeed(publicKey),
      ssh: { netns: net!.lan, address: NODE.external, user: "lab" },
    });
    vms.push(vm);
    await step("node: boot to SSH", () => vm.waitForSsh());

    await step("node: cloud-init done", async () => {
      const status = await vm.ssh("cloud-init status --wait --long", { timeoutMs: 600_000 });
      expect({ status: status.status, out: status.stdout }).toMatchObject({ status: 0 });
    });
    await step("node: checks", async () => {
      const links = await ipJson(vm, "addr show");
      expect(links.map((l) => l.ifname).sort()).toEqual(["eth0", "eth1", "lo"]);
      expect(Object.fromEntries(links.map((l) => [l.ifname, l.mtu]))).toEqual({ lo: 65536, eth0: 1500, eth1: INTERNAL_MTU });
      expect(Object.fromEntries(links.filter((l) => l.ifname !== "lo").map((l) => [l.ifname, l.address]))).toEqual({ eth0: NODE.macs[0], eth1: NODE.macs[1] });
      expect(addressesOf(links, "eth0")).toEqual([`${NODE.external}/24`]);
      expect(addressesOf(links, "eth1")).toEqual([`${NODE.internal}/24`]);
      // Nothing in the rendered config sets an MTU: 9000 on eth1 is virtio's host_mtu.
      expect((await vm.ssh("sudo cat /etc/netplan/*.yaml")).stdout).not.toMatch(/mtu/i);

      for (const nic of ["eth0", "eth1"]) {
        const channels = await vm.ssh(`sudo ethtool -l ${nic}`);
        const combined = [...channels.stdout.matchAll(/^Combined:\s*(\d+)/gm)].map((m) => Number(m[1]));
        expect({ nic, combined }).toEqual({ nic, combined: [2, 2] }); // pre-set maximum, current
      }

      const defaults = [...(await ipJson(vm, "-4 route show default")), ...(await ipJson(vm, "-6 route show default"))];
      expect(defaults).toEqual([expect.objectContaining({ dst: "default", gateway: LAN.gateway, dev: "eth0" })]);

      // Both wires carry traffic; the internal one carries jumbo frames unfragmented.
      expect((await vm.ssh(`ping -c1 -W5 ${LAN.gateway}`)).status).toBe(0);
      expect((await vm.ssh(`ping -c1 -W5 -M do -s ${INTERNAL_MTU - 28} ${LAN.peer}`)).status).toBe(0);
    });
    await step("node: power off", () => vm.stop());
  });

  test("a bookworm host VM names its NICs enp4s0/enp5s0, ifupdown2 brings up vmbr0/vmbr1 at boot, and again after a reboot", async () => {
    const vm = await startStep("host", {
      name: "smoke-host",
      image: "bookworm",
      role: "host",
      netns: net!.host,
      smp: 2,
      nics: [
        { mac: HOST.macs[0], bridge: "vmbr0", mtu: 1500, guestName: "enp4s0" },
        { mac: HOST.macs[1], bridge: "vmbr1", mtu: INTERNAL_MTU, guestName: "enp5s0" },
      ],
      files: { "/etc/network/interfaces": HOST_INTERFACES, "/etc/hostname": "pve\n" },
      ssh: { netns: net!.lan, address: HOST.external },
    });
    vms.push(vm);
    await step("host: boot to SSH", () => vm.waitForSsh());

    const checkHost = async () => {
      const links = await ipJson(vm, "addr show");
      const byName = Object.fromEntries(links.map((l) => [l.ifname, l]));
      expect(Object.keys(byName).sort()).toEqual(["enp4s0", "enp5s0", "lo", "vmbr0", "vmbr1"]);
      expect([byName.enp4s0.address, byName.enp5s0.address]).toEqual(HOST.macs);
      expect([byName.enp4s0.master, byName.enp5s0.master]).toEqual(["vmbr0", "vmbr1"]);
      expect([byName.vmbr1.mtu, byName.enp5s0.mtu]).toEqual([INTERNAL_MTU, INTERNAL_MTU]);
      expect(addressesOf(links, "vmbr0")).toEqual([`${HOST.external}/24`]);
      expect(addressesOf(links, "vmbr1")).toEqual([`${HOST.internal}/24`]);
      const defaults = [...(await ipJson(vm, "-4 route show default")), ...(await ipJson(vm, "-6 route show default"))];
      expect(defaults).toEqual([expect.objectContaining({ gateway: LAN.gateway, dev: "vmbr0" })]);
      const units = await vm.ssh("systemctl is-active networking.service; cloud-init status; hostname");
      expect(units.stdout.split("\n").map((l) => l.trim())).toEqual(["active", "status: disabled", "pve", ""]);
      expect((await vm.ssh(`ping -c1 -W5 -M do -s ${INTERNAL_MTU - 28} ${LAN.peer}`)).status).toBe(0);
    };
    await step("host: checks", checkHost);
    await step("host: reboot to SSH", () => vm.reboot());
    await step("host: checks after the reboot", checkHost);
    await step("host: power off", () => vm.stop());
  });
});
