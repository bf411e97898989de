import { spawn, spawnSync } from "node:child_process";
import { renderInterfaces } from "../renderers/interfaces";
import { planWith } from "./helpers";
import { ifupdown2, knownAttributes, stanzas, syntaxCheck } from "./ifupdown2";
import { BOND_MODES, bondMode, layouts } from "./layouts";
import { Sandbox, shellQuote, uniqueName } from "./lab/sandbox";

const render = (edit: (c: any) => void) => {
  const plan = planWith(edit);
  return renderInterfaces(plan.hosts[0]!, plan.config.name);
};
const withIfupdown2 = ifupdown2() ? it : it.skip;
const withIfupdown2Async = ifupdown2() ? it.concurrent : it.concurrent.skip;

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

  it("masquerades the VM subnet through the uplink, adding on post-up and removing on post-down", () => {
    expect(s.vmbr0!.options).toContain("post-up iptables -t nat -A POSTROUTING -s '10.10.10.0/24' -o eno1 -j MASQUERADE");
    expect(s.vmbr0!.options).toContain("post-down iptables -t nat -D POSTROUTING -s '10.10.10.0/24' -o eno1 -j MASQUERADE");
    expect(s.vmbr0!.options).toContain("post-up echo 1 > /proc/sys/net/ipv4/ip_forward");
    expect(s.eno1!.options).toContain("gateway 198.51.100.1");
  });

  it("separates bridged and NATed conntrack entries at the fwbr bridges of pve-firewall (iptables), and only there", () => {
    const zone = "post-up iptables -t raw -I PREROUTING -i fwbr+ -j CT --zone 1";
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
