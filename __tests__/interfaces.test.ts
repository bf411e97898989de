import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { renderInterfaces } from "../renderers/interfaces";
import { planWith } from "./helpers";
import { debian12Ifquery, ifupdown2, knownAttributes, stanzas, syntaxCheck, type Stanza } from "./ifupdown2";
import { debian13Available, debian13KnownAttributes, debian13Parsed, debian13Root, debian13SyntaxCheck, inDebian13 } from "./judges/debian13";
import { BOND_MODES, bondMode, layouts } from "./layouts";
import { Sandbox, shellQuote, uniqueName } from "./lab/sandbox";

const render = (edit: (c: any) => void) => {
  const plan = planWith(edit);
  return renderInterfaces(plan.hosts[0]!, plan.config.name);
};
const withIfupdown2 = ifupdown2() ? it : it.skip;
const withIfupdown2Async = ifupdown2() ? it.concurrent : it.concurrent.skip;
// Proxmox VE 9 is Debian 13: its ifupdown2 judges every file too (__tests__/judges/debian13.ts).
const withDebian13 = debian13Available() ? it : it.skip;
const withDebian13Async = debian13Available() ? it.concurrent : it.concurrent.skip;

/** What the file says, as ifupdown2 reports it: stanzas with their options sorted, and the auto interfaces. */
const intended = (text: string) => ({
  stanzas: Object.fromEntries(Object.entries(stanzas(text)).map(([name, s]): [string, Stanza] => [name, { method: s.method, options: [...s.options].sort() }])),
  auto: text.split("\n").flatMap((l) => /^auto (.+)$/.exec(l)?.[1]!.split(/\s+/) ?? []),
});

/** What Debian 12's ifupdown2 (the machine's) reads from a text: `ifquery -a -o json`, in a sandbox. */
async function debian12Parsed(text: string): Promise<ReturnType<typeof intended>> {
  const parsed: { name: string; addr_method: string; auto: boolean; config: Record<string, string | string[]> }[] = JSON.parse(await debian12Ifquery(text));
  return {
    stanzas: Object.fromEntries(
      parsed.map((i) => [i.name, { method: i.addr_method, options: Object.entries(i.config).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k} ${x}`)).sort() }]),
    ),
    auto: parsed.filter((i) => i.auto).map((i) => i.name),
  };
}

describe.each(Object.entries(layouts))("layout: %s", (_name, edit) => {
  const text = render(edit);

  it("renders as before", () => {
    expect(text).toMatchSnapshot();
  });

  it("has exactly one default gateway, never on the internal bridge", () => {
    const gateways = text.split("\n").filter((l) => /^\s+gateway /.test(l));
    expect(gateways).toHaveLength(1);
    expect(stanzas(text).vmbr1!.options.some((o) => o.startsWith("gateway"))).toBe(false);
  });

  withIfupdown2Async("passes ifupdown2's syntax check", async () => {
    expect(await syntaxCheck(text)).toEqual([]);
  });

  withIfupdown2("uses only attributes ifupdown2 knows", () => {
    const used = Object.values(stanzas(text)).flatMap((s) => s.options.map((o) => o.split(/\s+/)[0]!));
    expect(used.filter((a) => !knownAttributes().has(a))).toEqual([]);
  });

  withIfupdown2Async("is read by ifupdown2 as exactly the stanzas it renders", async () => {
    expect(await debian12Parsed(text)).toEqual(intended(text));
  });

  withDebian13Async("passes Debian 13's ifupdown2 syntax check", async () => {
    expect(await debian13SyntaxCheck(text)).toEqual([]);
  });

  withDebian13("uses only attributes Debian 13's ifupdown2 knows", () => {
    const used = Object.values(stanzas(text)).flatMap((s) => s.options.map((o) => o.split(/\s+/)[0]!));
    expect(used.filter((a) => !debian13KnownAttributes().has(a))).toEqual([]);
  });

  withDebian13Async("is read by Debian 13's ifupdown2 as exactly the stanzas it renders", async () => {
    expect(await debian13Parsed(text)).toEqual(intended(text));
  });
});

describe("Debian 13's ifupdown2 can fail (Proxmox VE 9's base)", () => {
  const good = render(layouts["dual bridge (default)"]!);

  withDebian13Async("rejects a malformed stanza: an unknown method and a value outside an attribute's range", async () => {
    const broken = good.replace("iface vmbr1 inet static", "iface vmbr1 inet statik").replace("bridge-stp off", "bridge-stp maybe");
    const problems = await debian13SyntaxCheck(broken);
    expect(problems.join("\n")).toMatch(/bridge-stp: invalid value "maybe"/);
    expect(problems.join("\n")).toMatch(/statik/);
  });

  // A line continuation the renderer never writes: ifupdown2 joins the next line to this one.
  const continued = good.replace("\tbridge-ports enp4s0\n", "\tbridge-ports enp4s0 \\\n");

  withDebian13Async("reads a file other than it was rendered: the stanza comparison fails", async () => {
    const read = await debian13Parsed(continued);
    expect(read.stanzas.vmbr0!.options).toContain("bridge-ports enp4s0 bridge-stp off");
    expect(read).not.toEqual(intended(continued));
  });

  withIfupdown2Async("so does Debian 12's", async () => {
    expect(await debian12Parsed(continued)).not.toEqual(intended(continued));
  });

  withDebian13("knows no made-up attribute", () => {
    expect(debian13KnownAttributes().has("bridge-ports")).toBe(true);
    expect(debian13KnownAttributes().has("bridge-portz")).toBe(false);
  });
});

describe("isolation from the machine", () => {
  withIfupdown2("checks syntax while another ifupdown2 holds the machine-wide lock", async () => {
    // What a Proxmox host, a second checkout or a parallel CI job does to /run/network/.lock.
    // Its own process group: flock's child (sleep) holds the lock too, and goes with it.
    const holder = spawn("flock", ["--exclusive", "/run/network/.lock", "sleep", "30"], { stdio: "ignore", detached: true });
    try {
      spawnSync("sleep", ["0.2"]);
      expect(spawnSync("flock", ["--nonblock", "/run/network/.lock", "true"]).status).not.toBe(0);
      expect(await syntaxCheck(render(layouts["dual bridge (default)"]!), { fresh: true })).toEqual([]);
    } finally {
      process.kill(-holder.pid!, "SIGKILL");
    }
  });

  withDebian13("runs Debian 13's ifupdown2 on a private overlay: beside the machine's lock holder, writing nothing to the shared root or the machine", async () => {
    const holder = spawn("flock", ["--exclusive", "/run/network/.lock", "sleep", "30"], { stdio: "ignore", detached: true });
    const probe = "pvdn-overlay-probe";
    try {
      spawnSync("sleep", ["0.2"]);
      const text = render(layouts["dual bridge (default)"]!);
      const result = await inDebian13(`touch /etc/network/${probe} /${probe} && exec ifup -a -s -i /mnt/interfaces`, { interfaces: text });
      expect(result).toMatchObject({ status: 0, stderr: "" });
      for (const where of ["/etc/network", "/"]) {
        expect(existsSync(path.join(debian13Root(), where, probe))).toBe(false);
        expect(existsSync(path.join(where, probe))).toBe(false);
      }
    } finally {
      process.kill(-holder.pid!, "SIGKILL");
    }
  });

  withIfupdown2("keeps a sandbox's binds in its own mount namespace, with or without a network namespace, where / is shared (systemd)", () => {
    const sandbox = new Sandbox("pvdn-binds-");
    const netns = uniqueName("pvdnb");
    try {
      expect(spawnSync("ip", ["netns", "add", netns]).status).toBe(0);
      for (const inNetns of [undefined, netns]) {
        const inside = sandbox.argv("findmnt --noheadings --mountpoint /etc/network >/dev/null && echo bound inside", inNetns).map(shellQuote).join(" ");
        const outside = "findmnt --noheadings --mountpoint /etc/network >/dev/null && echo bound outside || echo clean outside";
        const result = spawnSync("unshare", ["--mount", "--propagation", "shared", "sh", "-c", `${inside}; ${outside}`], { encoding: "utf8" });
        expect(result.stdout).toBe("bound inside\nclean outside\n");
      }
    } finally {
      spawnSync("ip", ["netns", "del", netns]);
      sandbox.remove();
    }
  });
});

describe("dual-bridge layout", () => {
  const s = stanzas(render(layouts["dual bridge (default)"]!));

  it("bridges vmbr0 on enp4s0 with the gateway and vmbr1 on enp5s0 without", () => {
    expect(s.vmbr0!.options).toEqual(["address 192.168.0.2/24", "gateway 192.168.0.1", "bridge-ports enp4s0", "bridge-stp off", "bridge-fd 0"]);
    expect(s.vmbr1!.options).toEqual(["address 10.0.0.2/24", "bridge-ports enp5s0", "bridge-stp off", "bridge-fd 0"]);
  });

  it("sets the MTU on the physical NICs", () => {
    expect(s.enp4s0).toEqual({ method: "manual", options: ["mtu 1500"] });
    expect(s.enp5s0).toEqual({ method: "manual", options: ["mtu 1500"] });
  });
});

describe("jumbo internal network", () => {
  const s = stanzas(render(layouts["jumbo internal network"]!));

  it("raises the internal NIC and pins the internal bridge at 9000, leaving the external side at 1500", () => {
    expect(s.enp5s0!.options).toContain("mtu 9000");
    expect(s.vmbr1!.options).toContain("mtu 9000");
    expect(s.enp4s0!.options).toContain("mtu 1500");
    expect(s.vmbr0!.options.some((o) => o.startsWith("mtu"))).toBe(false);
  });
});

describe("routed layout", () => {
  const s = stanzas(render(layouts.routed!));

  it("puts the gateway on the uplink with forwarding and proxy ARP", () => {
    expect(s.eno0!.options).toEqual([
      "address 198.51.100.5/29",
      "gateway 198.51.100.1",
      "mtu 1500",
      "post-up echo 1 > /proc/sys/net/ipv4/ip_forward",
      "post-up echo 1 > /proc/sys/net/ipv4/conf/eno0/proxy_arp",
    ]);
  });

  it("gives the VM bridge no ports and an explicit MTU", () => {
    expect(s.vmbr0!.options).toEqual(["address 203.0.113.17/28", "bridge-ports none", "bridge-stp off", "bridge-fd 0", "mtu 1500"]);
  });
});

describe("NAT layout", () => {
  const s = stanzas(render(layouts.nat!));

  it("masquerades the VM subnet through the uplink, adding on post-up where it is missing and removing on post-down", () => {
    const rule = "POSTROUTING -s '10.10.10.0/24' -o eno1 -j MASQUERADE";
    expect(s.vmbr0!.options).toContain(`post-up iptables -t nat -C ${rule} || iptables -t nat -A ${rule}`);
    expect(s.vmbr0!.options).toContain("post-down iptables -t nat -D POSTROUTING -s '10.10.10.0/24' -o eno1 -j MASQUERADE");
    expect(s.vmbr0!.options).toContain("post-up echo 1 > /proc/sys/net/ipv4/ip_forward");
    expect(s.eno1!.options).toContain("gateway 198.51.100.1");
  });

  it("separates bridged and NATed conntrack entries at the fwbr bridges of pve-firewall (iptables), and only there", () => {
    const zone = "post-up iptables -t raw -C PREROUTING -i fwbr+ -j CT --zone 1 || iptables -t raw -I PREROUTING -i fwbr+ -j CT --zone 1";
    expect(s.vmbr0!.options).toContain(zone);
    // proxmox-firewall (nftables) makes no fwbr bridges: the rule would match nothing.
    const nft = stanzas(render((c: any) => (layouts.nat!(c), (c.proxmox.firewallBackend = "nftables"))));
    expect(nft.vmbr0!.options).not.toContain(zone);
    expect(nft.vmbr0!.options.filter((o) => o.includes("fwbr"))).toEqual([]);
  });
});

describe("bonds", () => {
  it.each(BOND_MODES)("renders mode %s with only the options that mode takes", (mode) => {
    const text = render(bondMode(mode));
    const bond = stanzas(text).bond0!.options;
    expect(bond).toContain(`bond-mode ${mode}`);
    expect(bond).toContain("bond-slaves eno1 eno2");
    expect(bond).toContain("bond-miimon 100");
    expect(bond.some((o) => o.startsWith("bond-xmit-hash-policy"))).toBe(mode === "balance-xor" || mode === "802.3ad");
    expect(bond.some((o) => o.startsWith("bond-primary"))).toBe(mode === "active-backup");
    expect(stanzas(text).vmbr1!.options).toContain("bridge-ports bond0");
    // ifupdown2 checks every mode at once in the "every bond mode" layout above.
  });

  it("gives a bond its own address", () => {
    const s = stanzas(render(layouts["bond with address"]!));
    expect(s.bond0).toMatchObject({ method: "static", options: expect.arrayContaining(["address 192.168.1.2/24", "bond-mode 802.3ad"]) });
  });
});

describe("VLANs", () => {
  it("uses a tagged sub-interface as bridge port, with STP settings", () => {
    const s = stanzas(render(layouts["vlan sub-interface as bridge port"]!));
    expect(s["enp5s0.100"]!.options).toEqual(["mtu 1500"]);
    expect(s.vmbr1!.options).toEqual(expect.arrayContaining(["bridge-ports enp5s0.100", "bridge-stp on", "bridge-fd 15"]));
  });

  it("renders a VLAN-aware bridge and a named VLAN interface", () => {
    const s = stanzas(render(layouts["vlan-aware bridge"]!));
    expect(s.vmbr0!.options).toEqual(expect.arrayContaining(["bridge-vlan-aware yes", "bridge-vids 2-4094"]));
    expect(s.mgmt!.options).toEqual(["address 172.20.0.2/24", "vlan-raw-device enp5s0", "vlan-id 20", "mtu 1500"]);
  });
});
