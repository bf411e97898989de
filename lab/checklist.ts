/**
 * The seeds' verification checklist, run inside booted node VMs: "VMs boot and get their IP;
 * internal and external connectivity; `ping -M do -s 8972`", made precise, for each address
 * family the description gives a network (IPv6 beside IPv4 where networks.<role>.ipv6 is set). Every expectation comes
 * from the cluster description as its documentation reads (docs/vms.md, docs/build.md's MTU plan),
 * never from the project's code: a check written from the code could not see the code's mistake.
 */
import ipaddr from "ipaddr.js";
import { parse } from "yaml";
import type { Vm } from "./qemu";

/** One line of the checklist's table. */
export interface Check {
  readonly node: string;
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** An IPv6 address of a NIC: RFC 5952 text (as `ip -j` prints it) and its prefix length. */
export interface Address6 {
  readonly ip: string;
  readonly prefix: number;
}

/** What one node VM must look like, read off the description. */
export interface NodeExpectation {
  readonly name: string;
  readonly external: { readonly ip: string; readonly prefix: number; readonly mtu: number; readonly ip6?: Address6 };
  readonly internal: { readonly ip: string; readonly prefix: number; readonly mtu: number; readonly ip6?: Address6 };
  /** Guest NIC names: Proxmox's network-config names net0/net1 eth0/eth1 (docs/vms.md). */
  readonly nics: readonly [string, string];
  /** vCPUs = cores x sockets, the queues of each NIC. */
  readonly queues: number;
  readonly gateway: string;
  /** The external network's IPv6 gateway: the only IPv6 default route. */
  readonly gateway6?: string;
  readonly dns: readonly string[];
}

export interface ClusterExpectation {
  readonly nodes: readonly NodeExpectation[];
  /** The Proxmox nodes' internal addresses: every node reaches them at the internal MTU. */
  readonly hostInternal: readonly string[];
  /** Their internal IPv6 addresses (address6 of the internal bridge). */
  readonly hostInternal6: readonly string[];
  /**
   * Flannel VXLAN: VNI, UDP port, and the overlay MTU (internal MTU - 50: outer IPv4 20 + UDP 8 +
   * VXLAN 8 + inner Ethernet 14, RFC 7348). With an internal IPv6 network, Flannel's second VXLAN
   * device (flannel-v6.<VNI>) tunnels over IPv6: outer IPv6 40 instead of 20, so internal MTU - 70.
   */
  readonly overlay: {
    readonly vni: number;
    readonly port: number;
    readonly mtu: number;
    readonly podCidr: string;
    readonly ipv6?: { readonly mtu: number; readonly podCidr: string };
  };
  /** Node sysctl after the node setup (docs: sysctl.node defaults). */
  readonly sysctl: Readonly<Record<string, number>>;
  readonly modules: readonly string[];
  readonly user: string;
}

const prefixOf = (cidr: string) => Number(cidr.split("/")[1]);
/** RFC 5952 text of an IPv6 address however the description spells it (ipaddr.js, not the project's code). */
const canonical6 = (ip: string) => ipaddr.IPv6.parse(ip).toRFC5952String();
const address6 = (ip: string | undefined, cidr: string | undefined): Address6 | undefined => (ip && cidr ? { ip: canonical6(ip), prefix: prefixOf(cidr) } : undefined);
const canonicalAny = (ip: string) => (ip.includes(":") ? canonical6(ip) : ip);

/** The expectations of a description, with the defaults its documentation states. */
export function expectationsOf(descriptionYaml: string): ClusterExpectation {
  const d = parse(descriptionYaml);
  const nets = d.networks;
  const cpu = { cores: 4, sockets: 1, ...d.vmDefaults?.cpu };
  const snippet = d.vmDefaults?.cloudInit?.networkData?.enabled === true;
  const names = (snippet ? d.vmDefaults.cloudInit.networkData.interfaceNames : undefined) ?? ["eth0", "eth1"];
  const node = d.sysctl?.node ?? {};
  const internalBridge = (n: any) => n.interfaces.find((i: any) => i.kind === "bridge" && i.network === "internal");
  const bridgeAddress = (n: any) => internalBridge(n)?.address as string | undefined;
  const bridgeAddress6 = (n: any) => internalBridge(n)?.address6 as string | undefined;
  return {
    nodes: d.vms.map((vm: any) => {
      const own = { ...cpu, ...vm.cpu };
      return {
        name: vm.name,
        external: { ip: vm.ip.external, prefix: prefixOf(nets.external.cidr), mtu: vm.mtu?.external ?? nets.external.mtu ?? 1500, ip6: address6(vm.ip.external6, nets.external.ipv6?.cidr) },
        internal: { ip: vm.ip.internal, prefix: prefixOf(nets.internal.cidr), mtu: vm.mtu?.internal ?? nets.internal.mtu ?? 1500, ip6: address6(vm.ip.internal6, nets.internal.ipv6?.cidr) },
        nics: names,
        queues: Math.min(own.cores * own.sockets, 64),
        gateway: nets.external.gateway,
        gateway6: nets.external.ipv6?.gateway ? canonical6(nets.external.ipv6.gateway) : undefined,
        dns: (nets.external.dns ?? []).map(canonicalAny),
      };
    }),
    hostInternal: d.proxmox.nodes.map(bridgeAddress).filter(Boolean).map((a: string) => a.split("/")[0]),
    hostInternal6: d.proxmox.nodes.map(bridgeAddress6).filter(Boolean).map((a: string) => canonical6(a.split("/")[0]!)),
    overlay: {
      vni: d.kubernetes?.cni?.flannel?.vni ?? 1,
      port: d.kubernetes?.cni?.flannel?.port ?? 8472,
      mtu: (nets.internal.mtu ?? 1500) - 50,
      podCidr: d.kubernetes?.podCidr ?? "10.244.0.0/16",
      // docs/config-reference.md: kubernetes.podCidr6 defaults to fd00:10:244::/56.
      ...(nets.internal.ipv6 ? { ipv6: { mtu: (nets.internal.mtu ?? 1500) - 70, podCidr: d.kubernetes?.podCidr6 ?? "fd00:10:244::/56" } } : {}),
    },
    sysctl: {
      "net.ipv4.ip_forward": node.ipForward === false ? 0 : 1,
      "net.bridge.bridge-nf-call-iptables": node.bridgeNfCallIptables === false ? 0 : 1,
      "net.ipv4.conf.all.rp_filter": node.rpFilter ?? 2,
      "net.ipv4.conf.default.rp_filter": node.rpFilter ?? 2,
      // docs/node-setup.md: with dual-stack Kubernetes (networks.internal.ipv6) the nodes forward
      // IPv6 (all and default) and, with bridge netfilter, pass bridged IPv6 through ip6tables.
      ...(nets.internal.ipv6
        ? {
            "net.ipv6.conf.all.forwarding": 1,
            "net.ipv6.conf.default.forwarding": 1,
            ...(node.bridgeNfCallIptables === false ? {} : { "net.bridge.bridge-nf-call-ip6tables": 1 }),
          }
        : {}),
    },
    modules: ["br_netfilter", "overlay"],
    user: d.vmDefaults?.cloudInit?.user ?? "ubuntu",
  };
}

interface Link {
  readonly ifname: string;
  readonly mtu: number;
  readonly addr_info: readonly { readonly family: string; readonly local: string; readonly prefixlen: number; readonly scope?: string }[];
}

async function json(vm: Vm, command: string): Promise<any[]> {
  const r = await vm.ssh(command, { timeoutMs: 60_000 });
  if (r.status !== 0) throw new Error(`${command}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim() || "[]");
}

const ping = (vm: Vm, target: string, size: number, device?: string) =>
  vm.ssh(`ping${target.includes(":") ? " -6" : ""} -c 2 -W 3 -M do -s ${size}${device ? ` -I ${device}` : ""} ${target}`, { timeoutMs: 60_000 }).then((r) => r.status === 0);

/** ICMP echo payload that fills a packet of `mtu` bytes: IPv4 header 20 + ICMP 8, IPv6 header 40 + ICMPv6 8. */
const payload = (mtu: number, target: string) => mtu - (target.includes(":") ? 48 : 28);

/** The network checks of one booted node (after cloud-init): names, MTUs, queues, addresses, routes, DNS, pings. */
export async function networkChecks(vm: Vm, node: NodeExpectation, peers: readonly string[]): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (check: string, ok: boolean, detail: string) => checks.push({ node: node.name, check, ok, detail });
  const links: Link[] = await json(vm, "ip -j addr show");
  const holding = (ip: string) => links.find((l) => l.addr_info.some((a) => a.family === "inet" && a.local === ip));
  const [six, sixInternal] = [node.external.ip6, node.internal.ip6];
  const [extName, intName] = node.nics;
  const ext = holding(node.external.ip);
  const int = holding(node.internal.ip);
  add("interface names", ext?.ifname === extName && int?.ifname === intName, `external ${node.external.ip} on ${ext?.ifname ?? "none"}, internal ${node.internal.ip} on ${int?.ifname ?? "none"} (planned ${extName}, ${intName})`);
  add("MTUs", ext?.mtu === node.external.mtu && int?.mtu === node.internal.mtu, `${ext?.ifname} ${ext?.mtu}, ${int?.ifname} ${int?.mtu} (planned ${node.external.mtu}, ${node.internal.mtu})`);
  const inet = (l?: Link) => (l?.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);
  // Global IPv6 addresses only: every NIC also has its link-local fe80::/64.
  const inet6 = (l?: Link) => (l?.addr_info ?? []).filter((a) => a.family === "inet6" && a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`);
  const planned6 = (a?: Address6) => (a ? `${a.ip}/${a.prefix}` : "");
  add(
    "addresses",
    inet(ext).join() === `${node.external.ip}/${node.external.prefix}` &&
      inet(int).join() === `${node.internal.ip}/${node.internal.prefix}` &&
      inet6(ext).join() === planned6(six) &&
      inet6(int).join() === planned6(sixInternal),
    `${[...inet(ext), ...inet6(ext)].join(" ")} | ${[...inet(int), ...inet6(int)].join(" ")}${six || sixInternal ? ` (planned IPv6 ${planned6(six) || "none"} | ${planned6(sixInternal) || "none"})` : ""}`,
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
  const gateways = [node.gateway, ...(node.gateway6 ? [node.gateway6] : [])];
  add(
    "one default route per family, external",
    routes.length === gateways.length && gateways.every((g) => routes.some((r) => r.gateway === g && r.dev === extName)),
    `${routes.map((r) => `via ${r.gateway} dev ${r.dev}`).join("; ") || "none"} (planned ${gateways.map((g) => `via ${g} dev ${extName}`).join("; ")})`,
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
  for (const gateway of gateways) add(`external: the gateway answers${gateway.includes(":") ? " (IPv6)" : ""}`, await ping(vm, gateway, 56), gateway);

  for (const peer of peers) {
    const planned = node.internal.mtu;
    const own = int?.mtu ?? planned;
    const full = await ping(vm, peer, payload(planned, peer), intName);
    const above = await ping(vm, peer, payload(planned, peer) + 1, intName);
    // A NIC set above what the wire carries black-holes its largest frames: its own MTU must get through too.
    const ownSize = own === planned || (await ping(vm, peer, payload(own, peer), intName));
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
 * overlay's full-size frames. `family: 6` builds Flannel's dual-stack device instead,
 * flannel-v6.<VNI> between the nodes' internal IPv6 addresses with a /128 of each node's IPv6
 * pod subnet; an IPv6 outer packet has no DF bit, so there the proof is that the sender's kernel
 * made no IPv6 fragment (Ip6FragCreates in /proc/net/snmp6) while the ping went through.
 * Returns the check; the devices are removed afterwards.
 */
export async function overlayCheck(
  a: { vm: Vm; node: NodeExpectation },
  b: { vm: Vm; node: NodeExpectation },
  overlay: ClusterExpectation["overlay"],
  mtu: number,
  label: string,
  options: { bindToNic?: boolean; family?: 4 | 6 } = {},
): Promise<Check> {
  const v6 = options.family === 6;
  if (v6 && !(overlay.ipv6 && a.node.internal.ip6 && b.node.internal.ip6)) throw new Error("an IPv6 overlay check needs an internal IPv6 network");
  const dev = v6 ? `flannel-v6.${overlay.vni}` : `flannel.${overlay.vni}`;
  const podAddress = (n: number) => {
    if (!v6) return `${overlay.podCidr.split("/")[0]!.split(".").slice(0, 2).join(".")}.${n}.0`;
    // The first address of the node's /64: byte 7 of the pod network numbers the /64s of a /56.
    const bytes = ipaddr.IPv6.parse(overlay.ipv6!.podCidr.split("/")[0]!).toByteArray();
    bytes[7] = n;
    return ipaddr.fromByteArray(bytes).toString();
  };
  const underlay = (n: NodeExpectation) => (v6 ? n.internal.ip6!.ip : n.internal.ip);
  const ends = [
    { ...a, pod: podAddress(1), mac: v6 ? "02:42:fd:00:01:00" : "02:42:0a:f4:01:00" },
    { ...b, pod: podAddress(2), mac: v6 ? "02:42:fd:00:02:00" : "02:42:0a:f4:02:00" },
  ];
  const ip = v6 ? "ip -6" : "ip";
  const setup = (self: (typeof ends)[number], peer: (typeof ends)[number]) =>
    [
      `{ ip link del ${dev} 2>/dev/null; true; }`,
      // Bound to the internal NIC, as flanneld binds it, the kernel refuses an MTU above the NIC's
      // minus the encapsulation; unbound (bindToNic false) it accepts any, and only the wire can say no.
      `ip link add ${dev} type vxlan id ${overlay.vni} local ${underlay(self.node)}${options.bindToNic === false ? "" : ` dev ${self.node.nics[1]}`} dstport ${overlay.port} nolearning${v6 ? "" : " df set"}`,
      `ip link set ${dev} address ${self.mac} mtu ${mtu} up`,
      `${ip} addr add ${self.pod}/${v6 ? 128 : 32} dev ${dev}${v6 ? " nodad" : ""}`,
      `${ip} neigh replace ${peer.pod} lladdr ${peer.mac} dev ${dev} nud permanent`,
      `bridge fdb append ${peer.mac} dev ${dev} dst ${underlay(peer.node)}`,
      `${ip} route replace ${peer.pod}/${v6 ? 64 : 24} via ${peer.pod} dev ${dev} onlink`,
    ].join(" && ");
  const [ra, rb] = await Promise.all([a.vm.ssh(`sudo -n sh -c '${setup(ends[0]!, ends[1]!)}'`), b.vm.ssh(`sudo -n sh -c '${setup(ends[1]!, ends[0]!)}'`)]);
  let ok = ra.status === 0 && rb.status === 0;
  let detail = ok ? "" : `setup failed: ${ra.stderr}${rb.stderr}`;
  if (ok) {
    const fragments = async () => Number((await a.vm.ssh("awk '$1 == \"Ip6FragCreates\" { print $2 }' /proc/net/snmp6")).stdout.trim());
    const before = v6 ? await fragments() : 0;
    // Up to three bursts of four pings, 5 s apart: a full-size frame through VXLAN under TCG was
    // seen lost for all four pings of a burst in three of eight jumbo runs (and IPv6's, the same
    // 9000-byte outer frame, never). One reply is enough: a DF packet above the path's MTU never
    // gets one however often it is sent, so the tries cannot make a too-small path pass.
    const ping = `ping${v6 ? " -6" : ""} -c 4 -W 5 -M do -s ${mtu - (v6 ? 48 : 28)} -I ${ends[0].pod} ${ends[1].pod}`;
    let tries = 0;
    let passed = false;
    while (!passed && tries < 3) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 5_000));
      tries += 1;
      passed = (await a.vm.ssh(ping, { timeoutMs: 90_000 })).status === 0;
    }
    const fragmented = v6 ? (await fragments()) - before : 0;
    ok = passed && fragmented === 0;
    // What the two ends saw, for whoever reads a failure: the path (a cached PMTU shows as
    // "mtu"), each device's counters, the kernel's drop counters.
    const seen = passed
      ? ""
      : `; seen: ${(
          await Promise.all(
            [a, b].map(async (end) => {
              const peer = end === a ? b : a;
              const r = await end.vm.ssh(
                `ip route get ${underlay(peer.node)}; ip -s -o link show dev ${dev}; ip -s -o link show dev ${end.node.nics[1]}; nstat -asz 2>/dev/null | grep -E 'FragFails|FragCreates|OutDestUnreachs|InCsumErrors|RcvbufErrors|NoPorts|InErrors' | grep -v ' 0 '`,
                { timeoutMs: 60_000 },
              );
              return `${end.node.name}: ${r.stdout.replace(/\s+/g, " ").trim()}`;
            }),
          )
        ).join(" | ")}`;
    detail = `${dev} (VNI ${overlay.vni}, UDP ${overlay.port}${v6 ? ", over IPv6" : ""}) at MTU ${mtu}: ${v6 ? "" : "DF "}${mtu} ${passed ? `passes${tries > 1 ? ` (burst ${tries} of 3)` : ""}` : "FAILS (3 bursts)"}${v6 ? `, ${fragmented === 0 ? "unfragmented" : `FRAGMENTED (${fragmented} IPv6 fragments made)`}` : ""} between ${a.node.name} and ${b.node.name}${seen}`;
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
