/**
 * The hosts' /etc/network/interfaces with dual-stack (issue 22 item 1): each interface with an
 * IPv6 address gets a second stanza, `iface X inet6 static` with only its address and gateway,
 * as Proxmox VE writes it (pve-common src/PVE/Network/Interfaces.pm; test t.bridge-v4-v6.pl).
 * ifupdown2 judges every layout's dual-stack file (Debian 12's and Debian 13's: syntax check, and
 * what `ifquery -a -o json` reads, both families), and brings the bridged layout up in a network
 * namespace lab: the IPv6 addresses, the IPv6 default route, and the router and the peer node
 * answering over IPv6.
 */
import { renderInterfaces } from "../renderers/interfaces";
import { dualBridgeNode, dualStack, planWith } from "./helpers";
import { debian12Ifquery, ifupdown2, syntaxCheck } from "./ifupdown2";
import { debian13Available, debian13Ifquery, debian13SyntaxCheck } from "./judges/debian13";
import { layouts } from "./layouts";
import { canRunLabs, LAN } from "./lab/netlab";
import { PveHost } from "./lab/pve-host";

jest.setTimeout(120_000);

/**
 * A layout made dual-stack: the networks' and bridges' IPv6 as dualStack() gives them; where the
 * host routes or NATs for the VMs (its vmbr0 is their gateway), vmbr0's IPv6 address is their IPv6
 * gateway too, and the uplink gets an IPv6 address and the host's IPv6 default gateway.
 */
const dualLayout = (layout: (c: any) => void) => (c: any) => {
  layout(c);
  dualStack(c);
  const ifaces: any[] = c.proxmox.nodes[0].interfaces;
  const vmbr0 = ifaces.find((i) => i.name === "vmbr0");
  if (vmbr0.ports?.length === 0) {
    c.networks.external.ipv6.gateway = vmbr0.address6;
    const uplink = ifaces.find((i) => i.gateway);
    uplink.address6 = "2001:db9:5::5/64";
    uplink.gateway6 = "2001:db9:5::1";
  }
};

const render = (edit: (c: any) => void) => {
  const plan = planWith(edit);
  return renderInterfaces(plan.hosts[0]!, plan.config.name);
};

/** The stanzas of a text, both families: "name family" -> method and sorted options. */
function stanzas6(text: string): Record<string, { method: string; options: string[] }> {
  const out: Record<string, { method: string; options: string[] }> = {};
  let current: { method: string; options: string[] } | undefined;
  for (const line of text.split("\n")) {
    const m = /^iface (\S+) (inet6?) (\S+)$/.exec(line);
    if (m) out[`${m[1]} ${m[2]}`] = current = { method: m[3]!, options: [] };
    else if (/^\s+\S/.test(line) && current) current.options.push(line.trim());
    else if (!line.startsWith("#")) current = undefined;
  }
  for (const s of Object.values(out)) s.options.sort();
  return out;
}

/** `ifquery -a -o json` output in stanzas6's shape. */
function fromIfquery(json: string): Record<string, { method: string; options: string[] }> {
  const parsed: { name: string; addr_method: string; addr_family: string; config: Record<string, string | string[]> }[] = JSON.parse(json);
  return Object.fromEntries(
    parsed.map((i) => [`${i.name} ${i.addr_family}`, { method: i.addr_method, options: Object.entries(i.config).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k} ${x}`)).sort() }]),
  );
}

const withIfupdown2 = ifupdown2() ? it.concurrent : it.concurrent.skip;
const withDebian13 = debian13Available() ? it.concurrent : it.concurrent.skip;

describe.each(Object.entries(layouts))("dual-stack layout: %s", (_name, layout) => {
  const text = render(dualLayout(layout));

  it("writes an inet6 stanza of address and gateway after each inet stanza with IPv6, one IPv6 default gateway, never on vmbr1", () => {
    const all = stanzas6(text);
    const inet6 = Object.entries(all).filter(([k]) => k.endsWith(" inet6"));
    expect(inet6.map(([k]) => k)).toEqual(expect.arrayContaining(["vmbr0 inet6", "vmbr1 inet6"]));
    for (const [key, s] of inet6) {
      expect(s.method).toBe("static");
      expect(s.options.every((o) => /^(address|gateway) /.test(o))).toBe(true);
      expect(all[key.replace(/6$/, "")]).toBeDefined();
    }
    expect(inet6.flatMap(([, s]) => s.options.filter((o) => o.startsWith("gateway ")))).toHaveLength(1);
    expect(all["vmbr1 inet6"]!.options.some((o) => o.startsWith("gateway"))).toBe(false);
  });

  withIfupdown2("passes ifupdown2's syntax check", async () => {
    expect(await syntaxCheck(text)).toEqual([]);
  });

  withIfupdown2("is read by ifupdown2 as exactly the stanzas it renders, both families", async () => {
    expect(fromIfquery(await debian12Ifquery(text))).toEqual(stanzas6(text));
  });

  withDebian13("passes Debian 13's ifupdown2 syntax check", async () => {
    expect(await debian13SyntaxCheck(text)).toEqual([]);
  });

  withDebian13("is read by Debian 13's ifupdown2 as exactly the stanzas it renders, both families", async () => {
    const result = await debian13Ifquery(text, ["-a", "-o", "json"]);
    expect(result.status).toBe(0);
    expect(fromIfquery(result.stdout)).toEqual(stanzas6(text));
  });
});

describe("dual-stack host file without IPv6", () => {
  it("is byte for byte the IPv4 file", () => {
    const ipv4 = render(() => {});
    expect(ipv4).not.toMatch(/inet6/);
    // The dual-stack file is the IPv4 file plus the inet6 stanzas (and the example's IPv6 resolver, not in this file).
    const dual = render(dualStack);
    expect(dual.replace(/\niface \S+ inet6 static\n(\t.*\n)+/g, "")).toBe(ipv4);
  });
});

const canRun = ifupdown2() && canRunLabs();

(canRun ? describe : describe.skip)("dual-stack host in the network lab", () => {
  /** How the lab's router and peer node answer IPv6: nodad, so they answer at once. */
  const lanIpv6 = "ip addr add fd00:192:168::1/64 dev lan4 nodad && ip addr add fd00:10::3/64 dev lan5 nodad";

  it("brings the IPv6 addresses and the IPv6 default route up with ifup -a; the router and the peer answer", async () => {
    const plan = planWith((c) => (dualStack(c), c.proxmox.nodes.push(dualBridgeNode("pve2", "192.168.0.3", LAN.peer))));
    const host = await PveHost.create();
    try {
      expect((await host.lab.inLan(lanIpv6)).status).toBe(0);
      await host.boot(plan);
      // Duplicate address detection: the addresses are tentative for about a second after ifup
      // (ifupdown2 3.0.0 has no dad-attempts option to wait for it); wait until none is.
      const settled = await host.lab.inHost("for i in $(seq 50); do [ -z \"$(ip -6 addr show tentative)\" ] && exit 0; sleep 0.2; done; ip -6 addr show tentative; exit 1");
      expect(settled).toMatchObject({ status: 0 });
      const addresses = await host.lab.hostJson("-6 addr show scope global");
      const global = Object.fromEntries(addresses.map((l: any) => [l.ifname, l.addr_info.filter((a: any) => a.local).map((a: any) => `${a.local}/${a.prefixlen}`)]));
      expect(global).toEqual({ vmbr0: ["fd00:192:168::2/64"], vmbr1: ["fd00:10::2/64"] });
      const routes = await host.lab.hostJson("-6 route show default");
      expect(routes.map((r: any) => [r.gateway, r.dev])).toEqual([["fd00:192:168::1", "vmbr0"]]);
      const ping = await host.lab.inHost("ping -6 -c 1 -W 5 fd00:192:168::1 && ping -6 -c 1 -W 5 fd00:10::3");
      expect(ping).toMatchObject({ status: 0 });
      // ifupdown2 reads the live state as the file says (ifquery --check).
      const check = await host.lab.run("ifquery -a -c 2>&1");
      expect(check.stdout).not.toMatch(/\[fail\]/);
    } finally {
      await host.lab.destroy();
    }
  });

  // The host routes or NATs for its VMs: vmbr0 has no ports and is the VMs' IPv6 gateway; the
  // uplink (a NIC the lab adds) carries the host's own IPv6 address and default route.
  it.each([
    ["routed", "eno0"],
    ["nat", "eno1"],
  ])("brings the %s layout's IPv6 up with ifup -a: the uplink's address and default route, vmbr0's address", async (name, uplink) => {
    const plan = planWith(dualLayout(layouts[name]!));
    const host = await PveHost.create();
    try {
      await host.lab.addNic(uplink, true);
      await host.boot(plan);
      const settled = await host.lab.inHost("for i in $(seq 50); do [ -z \"$(ip -6 addr show tentative)\" ] && exit 0; sleep 0.2; done; ip -6 addr show tentative; exit 1");
      expect(settled).toMatchObject({ status: 0 });
      const addresses = await host.lab.hostJson("-6 addr show scope global");
      const global = Object.fromEntries(addresses.map((l: any) => [l.ifname, l.addr_info.filter((a: any) => a.local).map((a: any) => `${a.local}/${a.prefixlen}`)]));
      const vmbr0 = plan.hosts[0]!.interfaces.find((i) => i.name === "vmbr0")!.address6;
      expect(global).toEqual({ [uplink]: ["2001:db9:5::5/64"], vmbr0: [vmbr0], vmbr1: ["fd00:10::2/64"] });
      const routes = await host.lab.hostJson("-6 route show default");
      expect(routes.map((r: any) => [r.gateway, r.dev])).toEqual([["2001:db9:5::1", uplink]]);
      // The host forwards IPv6 for its VMs, and the NAT layout masquerades their IPv6 network.
      const forwarding = await host.lab.inHost("cat /proc/sys/net/ipv6/conf/all/forwarding");
      expect(forwarding.stdout.trim()).toBe("1");
      const nat6 = await host.lab.inHost("ip6tables -t nat -S POSTROUTING");
      const masquerade = `-A POSTROUTING -s ${vmbr0!.replace(/::\d+\//, "::/")} -o ${uplink} -j MASQUERADE`;
      if (name === "nat") expect(nat6.stdout).toContain(masquerade);
      else expect(nat6.stdout).not.toContain("MASQUERADE");
    } finally {
      await host.lab.destroy();
    }
  });
});

describe("the routed layout's IPv6 without proxy NDP", () => {
  const proxyNdp = (warnings: readonly string[]) => warnings.filter((w) => w.includes("no proxy NDP"));
  it("is a warning naming the proxyArp interface and the fix where the routed host has IPv6", () => {
    const warnings = proxyNdp(planWith(dualLayout(layouts.routed!)).warnings);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^proxmox\.nodes\[0\]\.interfaces\[\d+\]\.proxyArp: .*routed IPv6 prefix/);
  });
  it("is no warning without IPv6, nor in the NAT or bridged layouts", () => {
    expect(proxyNdp(planWith(layouts.routed!).warnings)).toEqual([]);
    expect(proxyNdp(planWith(dualLayout(layouts.nat!)).warnings)).toEqual([]);
    expect(proxyNdp(planWith(dualStack).warnings)).toEqual([]);
  });
});
