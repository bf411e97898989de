/**
 * The seeds' verification checklist, run inside booted node VMs: "VMs boot and get their IP;
 * internal and external connectivity; `ping -M do -s 8972`", made precise. Every expectation comes
 * from the cluster description as its documentation reads (docs/vms.md, docs/build.md's MTU plan),
 * never from the project's code: a check written from the code could not see the code's mistake.
 */
import { parse } from "yaml";
import type { Vm } from "./qemu";

/** One line of the checklist's table. */
export interface Check {
  readonly node: string;
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** What one node VM must look like, read off the description. */
export interface NodeExpectation {
  readonly name: string;
  readonly external: { readonly ip: string; readonly prefix: number; readonly mtu: number };
  readonly internal: { readonly ip: string; readonly prefix: number; readonly mtu: number };
  /** Guest NIC names: Proxmox's network-config names net0/net1 eth0/eth1 (docs/vms.md). */
  readonly nics: readonly [string, string];
  /** vCPUs = cores x sockets, the queues of each NIC. */
  readonly queues: number;
  readonly gateway: string;
  readonly dns: readonly string[];
}

export interface ClusterExpectation {
  readonly nodes: readonly NodeExpectation[];
  /** The Proxmox nodes' internal addresses: every node reaches them at the internal MTU. */
  readonly hostInternal: readonly string[];
  /** Flannel VXLAN: VNI, UDP port, and the overlay MTU (internal MTU - 50). */
  readonly overlay: { readonly vni: number; readonly port: number; readonly mtu: number; readonly podCidr: string };
  /** Node sysctl after the node setup (docs: sysctl.node defaults). */
  readonly sysctl: Readonly<Record<string, number>>;
  readonly modules: readonly string[];
  readonly user: string;
}

const prefixOf = (cidr: string) => Number(cidr.split("/")[1]);

/** The expectations of a description, with the defaults its documentation states. */
export function expectationsOf(descriptionYaml: string): ClusterExpectation {
  const d = parse(descriptionYaml);
  const nets = d.networks;
  const cpu = { cores: 4, sockets: 1, ...d.vmDefaults?.cpu };
  const snippet = d.vmDefaults?.cloudInit?.networkData?.enabled === true;
  const names = (snippet ? d.vmDefaults.cloudInit.networkData.interfaceNames : undefined) ?? ["eth0", "eth1"];
  const node = d.sysctl?.node ?? {};
  const bridgeAddress = (n: any) => n.interfaces.find((i: any) => i.kind === "bridge" && i.network === "internal")?.address as string | undefined;
  return {
    nodes: d.vms.map((vm: any) => {
      const own = { ...cpu, ...vm.cpu };
      return {
        name: vm.name,
        external: { ip: vm.ip.external, prefix: prefixOf(nets.external.cidr), mtu: vm.mtu?.external ?? nets.external.mtu ?? 1500 },
        internal: { ip: vm.ip.internal, prefix: prefixOf(nets.internal.cidr), mtu: vm.mtu?.internal ?? nets.internal.mtu ?? 1500 },
        nics: names,
        queues: Math.min(own.cores * own.sockets, 64),
        gateway: nets.external.gateway,
        dns: nets.external.dns ?? [],
      };
    }),
    hostInternal: d.proxmox.nodes.map(bridgeAddress).filter(Boolean).map((a: string) => a.split("/")[0]),
    overlay: {
      vni: d.kubernetes?.cni?.flannel?.vni ?? 1,
      port: d.kubernetes?.cni?.flannel?.port ?? 8472,
      mtu: (nets.internal.mtu ?? 1500) - 50,
      podCidr: d.kubernetes?.podCidr ?? "10.244.0.0/16",
    },
    sysctl: {
      "net.ipv4.ip_forward": node.ipForward === false ? 0 : 1,
      "net.bridge.bridge-nf-call-iptables": node.bridgeNfCallIptables === false ? 0 : 1,
      "net.ipv4.conf.all.rp_filter": node.rpFilter ?? 2,
      "net.ipv4.conf.default.rp_filter": node.rpFilter ?? 2,
    },
    modules: ["br_netfilter", "overlay"],
    user: d.vmDefaults?.cloudInit?.user ?? "ubuntu",
  };
}

interface Link {
  readonly ifname: string;
  readonly mtu: number;
  readonly addr_info: readonly { readonly family: string; readonly local: string; readonly prefixlen: number }[];
}

async function json(vm: Vm, command: string): Promise<any[]> {
  const r = await vm.ssh(command, { timeoutMs: 60_000 });
  if (r.status !== 0) throw new Error(`${command}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim() || "[]");
}

const ping = (vm: Vm, target: string, size: number, device?: string) =>
  vm.ssh(`ping -c 2 -W 3 -M do -s ${size}${device ? ` -I ${device}` : ""} ${target}`, { timeoutMs: 60_000 }).then((r) => r.status === 0);

/** The network checks of one booted node (after cloud-init): names, MTUs, queues, addresses, routes, DNS, pings. */
export async function networkChecks(vm: Vm, node: NodeExpectation, peers: readonly string[]): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (check: string, ok: boolean, detail: string) => checks.push({ node: node.name, check, ok, detail });
  const links: Link[] = await json(vm, "ip -j addr show");
  const holding = (ip: string) => links.find((l) => l.addr_info.some((a) => a.family === "inet" && a.local === ip));
  const [extName, intName] = node.nics;
  const ext = holding(node.external.ip);
  const int = holding(node.internal.ip);
  add("interface names", ext?.ifname === extName && int?.ifname === intName, `external ${node.external.ip} on ${ext?.ifname ?? "none"}, internal ${node.internal.ip} on ${int?.ifname ?? "none"} (planned ${extName}, ${intName})`);
  add("MTUs", ext?.mtu === node.external.mtu && int?.mtu === node.internal.mtu, `${ext?.ifname} ${ext?.mtu}, ${int?.ifname} ${int?.mtu} (planned ${node.external.mtu}, ${node.internal.mtu})`);
  const inet = (l?: Link) => (l?.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);
  add(
    "addresses",
    inet(ext).join() === `${node.external.ip}/${node.external.prefix}` && inet(int).join() === `${node.internal.ip}/${node.internal.prefix}`,
    `${inet(ext).join(" ")} | ${inet(int).join(" ")}`,
  );

  const queues: string[] = [];
  for (const name of [extName, intName]) {
    const r = await vm.ssh(`sudo -n ethtool -l ${name}`, { timeoutMs: 60_000 });
    // "Combined:" appears twice: the pre-set maximum, then the current setting.
    const combined = [...r.stdout.matchAll(/^Combined:\s*(\d+)/gm)].map((m) => Number(m[1]));
    queues.push(`${name} ${combined.join("/")}`);
    if (combined.length !== 2 || combined[1] !== node.queues) add("queues", false, `${queues.join(", ")} (planned ${node.queues})`);
  }
  if (!checks.some((c) => c.check === "queues")) add("queues", true, `${queues.join(", ")} (max/current; planned ${node.queues})`);

  const routes = [...(await json(vm, "ip -j -4 route show default")), ...(await json(vm, "ip -j -6 route show default"))];
  add(
    "one default route, external",
    routes.length === 1 && routes[0].gateway === node.gateway && routes[0].dev === extName,
    routes.map((r) => `via ${r.gateway} dev ${r.dev}`).join("; ") || "none",
  );
  // netplan writes each NIC's servers into its systemd-networkd file (root-only).
  const serversOf = async (nic: string) =>
    (await vm.ssh(`sudo -n grep -h '^DNS=' /run/systemd/network/10-netplan-${nic}.network 2>/dev/null; true`)).stdout.split("\n").flatMap((l) => (l.startsWith("DNS=") ? l.slice(4).split(/\s+/) : [])).filter(Boolean);
  const [servers, internalServers] = await Promise.all([serversOf(extName), serversOf(intName)]);
  add(
    "DNS as planned",
    node.dns.every((s) => servers.includes(s)) && servers.every((s) => node.dns.includes(s)),
    `${extName}: ${servers.join(" ") || "none"}; ${intName}: ${internalServers.join(" ") || "none"} (planned ${node.dns.join(" ") || "none"}, external)`,
  );
  add("external: the gateway answers", await ping(vm, node.gateway, 56), node.gateway);

  for (const peer of peers) {
    const planned = node.internal.mtu;
    const own = int?.mtu ?? planned;
    const full = await ping(vm, peer, planned - 28, intName);
    const above = await ping(vm, peer, planned - 27, intName);
    // A NIC set above what the wire carries black-holes its largest frames: its own MTU must get through too.
    const ownSize = own === planned || (await ping(vm, peer, own - 28, intName));
    add(`internal MTU to ${peer}`, full && !above && ownSize, `DF ${planned} ${full ? "passes" : "FAILS"}, ${planned + 1} ${above ? "PASSES" : "refused"}${own !== planned ? `, the NIC's own ${own} ${ownSize ? "passes" : "FAILS"}` : ""}`);
  }
  return checks;
}

/** The node's kernel state after the node setup's preparation: sysctl values and modules. */
export async function setupChecks(vm: Vm, node: NodeExpectation, expected: ClusterExpectation): Promise<Check[]> {
  const keys = Object.keys(expected.sysctl);
  // From /proc/sys: sysctl(8) is in /usr/sbin, outside a user's PATH on Debian.
  const values = (await vm.ssh(`cat ${keys.map((k) => `/proc/sys/${k.replace(/\./g, "/")}`).join(" ")}`, { timeoutMs: 60_000 })).stdout.trim().split("\n").map(Number);
  const modules = (await vm.ssh(`for m in ${expected.modules.join(" ")}; do [ -d /sys/module/$m ] && echo $m; done; true`)).stdout.trim().split("\n").filter(Boolean);
  const swap = (await vm.ssh("swapon --noheadings --show=NAME | wc -l")).stdout.trim();
  return [
    { node: node.name, check: "sysctl after the node setup", ok: keys.every((k, i) => values[i] === expected.sysctl[k]), detail: keys.map((k, i) => `${k}=${values[i]}`).join(" ") },
    { node: node.name, check: "kernel modules loaded", ok: expected.modules.every((m) => modules.includes(m)), detail: modules.join(" ") || "none" },
    { node: node.name, check: "swap off", ok: swap === "0", detail: `${swap} swap devices` },
  ];
}

/**
 * Flannel's VXLAN between two nodes, as flanneld sets it up (backends.md of flannel v0.28.9: the
 * flannel.<VNI> device on the internal NIC, a /32 of each node's pod subnet, fdb and neighbour
 * entries per peer), with `df set` so the outer packets may not be fragmented: a DF ping of
 * `mtu` bytes between the two overlay addresses then proves the internal network carries the
 * overlay's full-size frames. Returns the check; the devices are removed afterwards.
 */
export async function overlayCheck(
  a: { vm: Vm; node: NodeExpectation },
  b: { vm: Vm; node: NodeExpectation },
  overlay: ClusterExpectation["overlay"],
  mtu: number,
  label: string,
  options: { bindToNic?: boolean } = {},
): Promise<Check> {
  const dev = `flannel.${overlay.vni}`;
  const base = overlay.podCidr.split("/")[0]!.split(".").slice(0, 2).join(".");
  const ends = [
    { ...a, pod: `${base}.1.0`, mac: "02:42:0a:f4:01:00" },
    { ...b, pod: `${base}.2.0`, mac: "02:42:0a:f4:02:00" },
  ];
  const setup = (self: (typeof ends)[number], peer: (typeof ends)[number]) =>
    [
      `{ ip link del ${dev} 2>/dev/null; true; }`,
      // Bound to the internal NIC, as flanneld binds it, the kernel refuses an MTU above the NIC's
      // minus 50; unbound (bindToNic false) it accepts any, and only the wire can say no.
      `ip link add ${dev} type vxlan id ${overlay.vni} local ${self.node.internal.ip}${options.bindToNic === false ? "" : ` dev ${self.node.nics[1]}`} dstport ${overlay.port} nolearning df set`,
      `ip link set ${dev} address ${self.mac} mtu ${mtu} up`,
      `ip addr add ${self.pod}/32 dev ${dev}`,
      `ip neigh replace ${peer.pod} lladdr ${peer.mac} dev ${dev} nud permanent`,
      `bridge fdb append ${peer.mac} dev ${dev} dst ${peer.node.internal.ip}`,
      `ip route replace ${peer.pod}/24 via ${peer.pod} dev ${dev} onlink`,
    ].join(" && ");
  const [ra, rb] = await Promise.all([a.vm.ssh(`sudo -n sh -c '${setup(ends[0]!, ends[1]!)}'`), b.vm.ssh(`sudo -n sh -c '${setup(ends[1]!, ends[0]!)}'`)]);
  let ok = ra.status === 0 && rb.status === 0;
  let detail = ok ? "" : `setup failed: ${ra.stderr}${rb.stderr}`;
  if (ok) {
    // Four tries: a full-size frame through VXLAN under TCG was seen lost twice in a row (one
    // reply is enough; a DF packet above the path's MTU never gets one however often it is sent).
    const r = await a.vm.ssh(`ping -c 4 -W 5 -M do -s ${mtu - 28} -I ${ends[0].pod} ${ends[1].pod}`, { timeoutMs: 90_000 });
    ok = r.status === 0;
    detail = `${dev} (VNI ${overlay.vni}, UDP ${overlay.port}) at MTU ${mtu}: DF ${mtu} ${ok ? "passes" : "FAILS"} between ${a.node.name} and ${b.node.name}`;
  }
  await Promise.all([a.vm.ssh(`sudo -n ip link del ${dev}`), b.vm.ssh(`sudo -n ip link del ${dev}`)]);
  return { node: `${a.node.name}/${b.node.name}`, check: label, ok, detail };
}

/** The checklist as a table for the test's output. */
export function table(checks: readonly Check[]): string {
  const w = (f: (c: Check) => string) => Math.max(...checks.map((c) => f(c).length));
  const [wn, wc] = [w((c) => c.node), w((c) => c.check)];
  return checks.map((c) => `${c.ok ? "ok  " : "FAIL"}  ${c.node.padEnd(wn)}  ${c.check.padEnd(wc)}  ${c.detail}`).join("\n");
}
