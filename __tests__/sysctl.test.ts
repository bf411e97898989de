import { renderSysctlEnv } from "../renderers/host-apply-env";
import { renderSysctlFile, requiredModules, sysctlFiles, sysctlIpv6 } from "../renderers/sysctl";
import { planFrom, planWith } from "./helpers";

const sysctlOf = (edit: (c: any) => void = () => {}) => planWith(edit).config.sysctl;
/** key = value lines of a rendered file. */
const values = (text: string) => Object.fromEntries(text.split("\n").filter((l) => /^[a-z]/.test(l)).map((l) => l.split(" = ") as [string, string]));

describe("host sysctl (99-proxmox-network.conf)", () => {
  const [file] = sysctlFiles(sysctlOf(), "host");

  it("sets forwarding, loose rp_filter and bridge netfilter by default", () => {
    expect(file!.name).toBe("99-proxmox-network.conf");
    expect(values(renderSysctlFile(file!))).toEqual({
      "net.ipv4.ip_forward": "1",
      "net.bridge.bridge-nf-call-iptables": "1",
      "net.ipv4.conf.all.rp_filter": "2",
      "net.ipv4.conf.default.rp_filter": "2",
    });
  });

  it("explains every value", () => {
    const lines = renderSysctlFile(file!).split("\n");
    lines.forEach((line, i) => {
      if (/^[a-z]/.test(line)) expect(lines[i - 1]).toMatch(/^# \S/);
    });
  });

  it("takes values from the config", () => {
    const [custom] = sysctlFiles(sysctlOf((c) => (c.sysctl = { host: { rpFilter: 1, ipForward: false } })), "host");
    expect(values(renderSysctlFile(custom!))).toMatchObject({ "net.ipv4.ip_forward": "0", "net.ipv4.conf.all.rp_filter": "1" });
  });

  it("does not disable IPv6 unless asked (Proxmox recommends keeping it)", () => {
    expect(sysctlFiles(sysctlOf(), "host").map((f) => f.name)).toEqual(["99-proxmox-network.conf"]);
  });
});

describe("optional files", () => {
  const files = sysctlFiles(sysctlOf((c) => (c.sysctl = { disableIpv6: true, tuning: {} })), "node");

  it("writes the node file, disable-ipv6.conf and the tuning of the design documents", () => {
    expect(files.map((f) => f.name)).toEqual(["99-k8s.conf", "disable-ipv6.conf", "99-network-tuning.conf"]);
    expect(values(renderSysctlFile(files[1]!))).toEqual({ "net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1" });
    expect(values(renderSysctlFile(files[2]!))).toEqual({
      "net.core.somaxconn": "32768",
      "net.core.netdev_max_backlog": "16384",
      "net.ipv4.tcp_max_syn_backlog": "8096",
      "net.ipv4.tcp_tw_reuse": "1",
      "net.ipv4.tcp_fin_timeout": "15",
    });
  });
});

describe("the apply program's environment (sysctl.env)", () => {
  const files = sysctlFiles(sysctlOf((c) => (c.sysctl = { disableIpv6: true })), "host");
  const env = renderSysctlEnv("pve", files);
  /** The variables as the program's shell reads them. */
  const vars = (name: string) =>
    require("node:child_process").spawnSync("sh", ["-c", `eval "$(cat)"; printf '%s' "$${name}"`], { input: env, encoding: "utf8" }).stdout as string;

  it("lists the files, every value to read back, and the module the net.bridge keys need", () => {
    expect(requiredModules(files)).toEqual(["br_netfilter"]);
    expect(vars("FILES")).toBe("99-proxmox-network.conf disable-ipv6.conf");
    expect(vars("CHECKS").split("\n")).toEqual(files.flatMap((f) => f.entries.map((e) => `${e.key}=${e.value}`)));
    expect(vars("MODULES")).toBe("br_netfilter net.bridge.bridge-nf-call-iptables");
  });

  it("needs no module when bridge netfilter is off", () => {
    const off = sysctlFiles(sysctlOf((c) => (c.sysctl = { host: { bridgeNfCallIptables: false } })), "host");
    expect(renderSysctlEnv("pve", off)).toMatch(/^MODULES=''$/m);
  });
});

describe("IPv6 (dual-stack)", () => {
  const plan = planFrom("examples/dual-stack.yaml");

  it("forwards IPv6 on the nodes of a dual-stack cluster, and passes bridged IPv6 to ip6tables", () => {
    const [node] = sysctlFiles(plan.config.sysctl, "node", sysctlIpv6(plan));
    expect(values(renderSysctlFile(node!))).toEqual({
      "net.ipv4.ip_forward": "1",
      "net.bridge.bridge-nf-call-iptables": "1",
      "net.ipv4.conf.all.rp_filter": "2",
      "net.ipv4.conf.default.rp_filter": "2",
      "net.bridge.bridge-nf-call-ip6tables": "1",
      "net.ipv6.conf.all.forwarding": "1",
      "net.ipv6.conf.default.forwarding": "1",
    });
  });

  it("leaves the hosts' file and an IPv4-only node's file as they were", () => {
    expect(sysctlFiles(plan.config.sysctl, "host", sysctlIpv6(plan))).toEqual(sysctlFiles(plan.config.sysctl, "host"));
    const v4 = planWith();
    expect(sysctlFiles(v4.config.sysctl, "node", sysctlIpv6(v4))).toEqual(sysctlFiles(v4.config.sysctl, "node"));
  });

  it("never writes disable-ipv6.conf while IPv6 is used, even when asked (validation refuses that too)", () => {
    const asked = { ...plan.config.sysctl, disableIpv6: true };
    for (const target of ["host", "node"] as const) expect(sysctlFiles(asked, target, sysctlIpv6(plan)).map((f) => f.name)).not.toContain("disable-ipv6.conf");
    expect(sysctlFiles(asked, "node").map((f) => f.name)).toContain("disable-ipv6.conf");
  });
});
