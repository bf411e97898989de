/**
 * Dual-stack (issue 22 item 1): the IPv6 fields of the description, their validation and the
 * plan's values. Every check here was seen failing with its report removed (docs/development.md).
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { checkCluster } from "../config/load";
import { issuesOf, planWith } from "./helpers";

/** The issue at `where` (the one matching `pattern`, if given), or a failure listing what was reported. */
function issueAt(issues: { path: string; message: string; fix?: string }[], where: string, pattern?: RegExp) {
  const found = issues.find((i) => i.path === where && (!pattern || pattern.test(i.message)));
  if (!found) throw new Error(`no issue at ${where}; got:\n${issues.map((i) => `${i.path}: ${i.message}`).join("\n")}`);
  return found;
}

const bridge = (input: any, name: string) => input.proxmox.nodes[0].interfaces.find((i: any) => i.name === name);

/** The example with IPv6 on both networks, in the user's (non-canonical) spellings. */
function dual(c: any): void {
  c.networks.external.ipv6 = { cidr: "FD00:192:168:0::/64", gateway: "fd00:192:168:0:0:0:0:1" };
  c.networks.internal.ipv6 = { cidr: "fd00:10::/64" };
  bridge(c, "vmbr0").address6 = "fd00:192:168::2";
  bridge(c, "vmbr1").address6 = "FD00:10:0::2/64";
  c.vms.forEach((vm: any, i: number) => {
    vm.ip.external6 = `fd00:192:168::${11 + i}`;
    vm.ip.internal6 = `fd00:10:0:0::${11 + i}`;
  });
}

describe("without IPv6", () => {
  it("plans as before: no IPv6 plan, one family everywhere", () => {
    const plan = planWith();
    expect(plan.ipv6).toBeUndefined();
    expect(plan.kubernetesNetwork).toEqual({ dualStack: false, podSubnets: ["10.244.0.0/16"], serviceSubnets: ["10.96.0.0/12"], nodeCidrMaskSize: 24 });
    expect(plan.vms[0]!.nodeIps).toEqual(["10.0.0.11"]);
    expect(plan.vms[0]!.nics[0]).not.toHaveProperty("ip6");
    expect(plan.cni).not.toHaveProperty("dualStack");
    expect(plan.mtu).not.toHaveProperty("ipv6Minimum");
    expect(plan.hosts[0]).not.toHaveProperty("gateway6");
    expect(plan.warnings.join("\n")).not.toMatch(/IPv6/);
  });
});

describe("dual-stack plan", () => {
  it("decides every IPv6 value once, in canonical text, IPv4 first", () => {
    const plan = planWith((c) => {
      dual(c);
      c.networks.external.dns = ["8.8.8.8", "2001:4860:4860:0:0:0:0:8888"];
      c.firewall = { ssh: ["192.168.0.0/24", "FD00:192:168::/64"], rules: [{ protocol: "tcp", ports: "443", from: "2001:DB8:1::/48" }] };
    });
    expect(plan.ipv6).toEqual({
      subnets: {
        external: { network: "fd00:192:168::", prefix: 64, cidr: "fd00:192:168::/64" },
        internal: { network: "fd00:10::", prefix: 64, cidr: "fd00:10::/64" },
        pod: { network: "fd00:10:244::", prefix: 56, cidr: "fd00:10:244::/56" },
        service: { network: "fd00:10:96::", prefix: 112, cidr: "fd00:10:96::/112" },
      },
      gateway: "fd00:192:168::1",
      kubernetes: true,
    });
    expect(plan.kubernetesNetwork).toEqual({
      dualStack: true,
      podSubnets: ["10.244.0.0/16", "fd00:10:244::/56"],
      serviceSubnets: ["10.96.0.0/12", "fd00:10:96::/112"],
      nodeCidrMaskSize: 24,
      nodeCidrMaskSize6: 64,
    });
    const [ext, int] = plan.vms[0]!.nics;
    expect([ext.ip6, ext.prefix6, ext.gateway6]).toEqual(["fd00:192:168::11", 64, "fd00:192:168::1"]);
    expect([int.ip6, int.prefix6, int.gateway6]).toEqual(["fd00:10::11", 64, undefined]);
    expect(plan.vms[0]!.nodeIps).toEqual(["10.0.0.11", "fd00:10::11"]);
    const host = plan.hosts[0]!;
    expect(host.gateway6).toEqual({ interface: "vmbr0", ip: "fd00:192:168::1" });
    expect(host.interfaces.find((i) => i.name === "vmbr0")).toMatchObject({ address6: "fd00:192:168::2/64", gateway6: "fd00:192:168::1" });
    expect(host.interfaces.find((i) => i.name === "vmbr1")).toMatchObject({ address6: "fd00:10::2/64" });
    expect(host.interfaces.find((i) => i.name === "vmbr1")).not.toHaveProperty("gateway6");
    expect(host.internalAddress6).toBe("fd00:10::2");
    expect(plan.dns.servers).toEqual(["8.8.8.8", "2001:4860:4860::8888"]);
    expect(plan.firewallSources).toEqual({ ssh: ["192.168.0.0/24", "fd00:192:168::/64"], rules: ["2001:db8:1::/48"] });
    expect(plan.cni.dualStack).toBe(true);
    expect(plan.mtu.ipv6Minimum).toBe(1280);
    expect(plan.apiServer.certSans).toEqual(expect.arrayContaining(["fd00:10::11", "fd00:192:168::11"]));
    // Phase 2 renders every IPv6 value: no warning says any is left out.
    expect(plan.warnings.filter((w) => w.includes("IPv6"))).toEqual([]);
  });

  it("keeps Kubernetes single-stack with IPv6 on the external network only", () => {
    const plan = planWith((c) => {
      dual(c);
      delete c.networks.internal.ipv6;
      delete bridge(c, "vmbr1").address6;
      c.vms.forEach((vm: any) => delete vm.ip.internal6);
    });
    expect(plan.ipv6?.kubernetes).toBe(false);
    expect(plan.kubernetesNetwork.dualStack).toBe(false);
    expect(plan.vms[0]!.nodeIps).toEqual(["10.0.0.11"]);
    expect(plan.vms[0]!.nics[1]).not.toHaveProperty("ip6");
    expect(plan.cni).not.toHaveProperty("dualStack");
  });

  it("plans Calico's IPv6 block size", () => {
    expect(planWith((c) => (dual(c), (c.kubernetes.cni = { plugin: "calico" }))).kubernetesNetwork.calicoBlockSize6).toBe(122);
  });

  it("accepts examples/dual-stack.yaml", () => {
    const plan = checkCluster(parse(readFileSync("examples/dual-stack.yaml", "utf8")), "examples/dual-stack.yaml");
    expect(plan.kubernetesNetwork.podSubnets).toEqual(["10.244.0.0/16", "fd00:10:244::/56"]);
  });
});

describe("dual-stack validation", () => {
  it("refuses sysctl.disableIpv6 together with IPv6, naming both", () => {
    const issue = issueAt(issuesOf((c) => (dual(c), (c.sysctl = { disableIpv6: true }))), "sysctl.disableIpv6");
    expect(issue.message).toMatch(/^is true, but proxmox\.nodes\[0\]\.interfaces\[2\]\.address6 \(and \d+ more fields\) uses IPv6/);
    const one = issueAt(issuesOf((c) => Object.assign(c, { sysctl: { disableIpv6: true }, firewall: { ssh: ["fd00::/64"] } })), "sysctl.disableIpv6");
    expect(one.message).toMatch(/^is true, but firewall\.ssh\[0\] uses IPv6/);
    expect(issue.fix).toMatch(/disableIpv6: false/);
  });

  it("needs external IPv6 for internal IPv6, and internal IPv6 for the Kubernetes IPv6 fields", () => {
    const issues = issuesOf((c) => {
      c.networks.internal.ipv6 = { cidr: "fd00:10::/64" };
      c.vms.forEach((vm: any, i: number) => (vm.ip.internal6 = `fd00:10::${11 + i}`));
    });
    expect(issueAt(issues, "networks.internal.ipv6").message).toMatch(/needs IPv6 on the external network/);
    const k8s = issuesOf((c) => {
      dual(c);
      delete c.networks.internal.ipv6;
      delete bridge(c, "vmbr1").address6;
      c.vms.forEach((vm: any) => delete vm.ip.internal6);
      Object.assign(c.kubernetes, { podCidr6: "fd00:10:244::/56", serviceCidr6: "fd00:10:96::/112", nodeCidrMaskSize6: 64 });
      c.kubernetes.cni = { plugin: "calico", calico: { blockSize6: 122 } };
    });
    for (const field of ["podCidr6", "serviceCidr6", "nodeCidrMaskSize6", "cni.calico.blockSize6"]) issueAt(k8s, `kubernetes.${field}`, /networks\.internal\.ipv6|dual-stack only/);
  });

  it("refuses IPv6 networks with host bits, of the wrong kind or prefix, and overlapping ones", () => {
    const issues = issuesOf((c) => {
      dual(c);
      c.networks.external.ipv6.cidr = "fd00:192:168::1/64";
      c.networks.internal.ipv6.cidr = "fd00:10::/48";
      c.kubernetes.podCidr6 = "fd00:10::/56";
      c.kubernetes.serviceCidr6 = "fe80::/112";
    });
    expect(issueAt(issues, "networks.external.ipv6.cidr").fix).toBe("write the network address: fd00:192:168::/64");
    expect(issueAt(issues, "networks.internal.ipv6.cidr").message).toMatch(/\/48 is not a prefix for a network/);
    expect(issueAt(issues, "kubernetes.podCidr6").message).toMatch(/overlaps networks\.internal\.ipv6\.cidr fd00:10::\/48/);
    expect(issueAt(issues, "kubernetes.serviceCidr6").message).toMatch(/link-local/);
  });

  it.each([
    ["ff02::/64", /multicast/],
    ["::ffff:0:0/96", /IPv4-mapped|prefix/],
    ["2001:db8::/64", /reserved/],
  ])("refuses the network %s", (cidr, pattern) => {
    issueAt(issuesOf((c) => (dual(c), (c.networks.external.ipv6.cidr = cidr))), "networks.external.ipv6.cidr", pattern);
  });

  it("needs the external IPv6 gateway inside its network, and no internal one", () => {
    const issues = issuesOf((c) => {
      dual(c);
      c.networks.external.ipv6.gateway = "fd00:10::1";
      c.networks.internal.ipv6.gateway = "fd00:10::1";
    });
    expect(issueAt(issues, "networks.external.ipv6.gateway").message).toMatch(/outside the external IPv6 network fd00:192:168::\/64/);
    expect(issueAt(issues, "networks.internal.ipv6.gateway").message).toMatch(/must not have a gateway/);
    expect(issueAt(issuesOf((c) => (dual(c), delete c.networks.external.ipv6.gateway)), "networks.external.ipv6.gateway").message).toMatch(/needs a gateway/);
    expect(issueAt(issuesOf((c) => (dual(c), (c.vms[0].ip.external6 = "fd00:192:168::1"))), "networks.external.ipv6.gateway").message).toMatch(/also the address of vms\[0\]/);
  });

  it("needs a VM's IPv6 address exactly where its network has IPv6, inside it and unique", () => {
    const issues = issuesOf((c) => {
      dual(c);
      delete c.vms[0].ip.internal6;
      c.vms[1].ip.external6 = "fd00:192:169::12";
      c.vms[2].ip.internal6 = "FD00:10::2";
      c.vms[3].ip.internal6 = "fd00:10::";
    });
    expect(issueAt(issues, "vms[0].ip.internal6").fix).toBe("add ip.internal6, an address inside fd00:10::/64");
    expect(issueAt(issues, "vms[1].ip.external6").message).toMatch(/outside the external IPv6 network/);
    expect(issueAt(issues, "vms[2].ip.internal6").message).toMatch(/already used by proxmox\.nodes\[0\] vmbr1/);
    expect(issueAt(issues, "vms[3].ip.internal6").message).toMatch(/subnet-router anycast/);
    const without = issuesOf((c) => (c.vms[0].ip.external6 = "fd00:192:168::11"));
    expect(issueAt(without, "vms[0].ip.external6").message).toMatch(/has no IPv6/);
  });

  it("checks the hosts' IPv6 addresses and gateways", () => {
    const issues = issuesOf((c) => {
      dual(c);
      delete c.networks.internal.ipv6;
      c.vms.forEach((vm: any) => delete vm.ip.internal6);
      bridge(c, "vmbr1").gateway6 = "fd00:10::1";
      bridge(c, "vmbr0").gateway6 = "fd00:1::1";
    });
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[3].address6").message).toMatch(/internal network, which has no IPv6/);
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[3].gateway6").message).toMatch(/internal network must not carry a gateway/);
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[2].gateway6").message).toMatch(/outside fd00:192:168::\/64/);
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[3].gateway6", /both set an IPv6 default gateway/)).toBeDefined();
    const prefix = issuesOf((c) => (dual(c), (bridge(c, "vmbr0").address6 = "fd00:192:168::2/80")));
    expect(issueAt(prefix, "proxmox.nodes[0].interfaces[2].address6").message).toMatch(/prefix \/80 differs/);
    const noGateway = issuesOf((c) => (dual(c), (bridge(c, "vmbr0").address6 = "fd00:192:168::1")));
    expect(issueAt(noGateway, "proxmox.nodes[0].interfaces[2].address6").message).toMatch(/no IPv6 default route/);
  });

  it("checks IPv6 addresses of interfaces outside the two networks", () => {
    const issues = issuesOf((c) => {
      dual(c);
      c.proxmox.nodes[0].interfaces[0].address6 = "fd00:5::2";
      c.proxmox.nodes[0].interfaces[1].address6 = "fe80::2/64";
      c.proxmox.nodes[0].interfaces.push({ kind: "nic", name: "enp6s0", gateway6: "fd00:6::1" });
      c.networks.external.ipv6 = { cidr: "fd00:192:168::/64", gateway: "fd00:192:168::1" };
      delete c.networks.internal.ipv6;
      delete bridge(c, "vmbr1").address6;
      c.vms.forEach((vm: any) => delete vm.ip.internal6);
      c.networks.internal.dns = ["fd00:10::53"];
    });
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[0].address6").message).toMatch(/has no prefix and the interface belongs to no network/);
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[1].address6").message).toMatch(/link-local/);
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[4].gateway6").message).toMatch(/IPv6 gateway but no address6/);
    expect(issueAt(issues, "networks.internal.dns[0]").message).toMatch(/internal network has no IPv6/);
  });

  it("holds Kubernetes' IPv6 networks to the sizes Kubernetes takes", () => {
    const service = issuesOf((c) => (dual(c), (c.kubernetes.serviceCidr6 = "fd00:10:96::/100")));
    expect(issueAt(service, "kubernetes.serviceCidr6").message).toMatch(/\/108 or longer/);
    const diff = issuesOf((c) => (dual(c), (c.kubernetes.podCidr6 = "fd00:20::/40")));
    expect(issueAt(diff, "kubernetes.podCidr6").message).toMatch(/24 bits shorter than the \/64 node subnets.*at most 16/);
    const small = issuesOf((c) => (dual(c), Object.assign(c.kubernetes, { podCidr6: "fd00:10:244::/63", nodeCidrMaskSize6: 64 })));
    expect(issueAt(small, "kubernetes.podCidr6").message).toMatch(/holds only 2 node subnets of \/64, but there are 4 nodes/);
    const wider = issuesOf((c) => (dual(c), Object.assign(c.kubernetes, { podCidr6: "fd00:10:244::/64", nodeCidrMaskSize6: 64 })));
    expect(issueAt(wider, "kubernetes.podCidr6").message).toMatch(/holds only 1 node subnets/);
    const mask = issuesOf((c) => (dual(c), Object.assign(c.kubernetes, { podCidr6: "fd00:10:244::/96", nodeCidrMaskSize6: 80 })));
    expect(issueAt(mask, "kubernetes.nodeCidrMaskSize6").message).toMatch(/larger than the whole IPv6 pod network/);
  });

  it("refuses Calico's IP-in-IP and IPv6 blocks larger than the pod network with dual-stack", () => {
    const issues = issuesOf((c) => {
      dual(c);
      c.kubernetes.podCidr6 = "fd00:10:244::/120";
      c.kubernetes.nodeCidrMaskSize6 = 120;
      c.kubernetes.cni = { plugin: "calico", calico: { encapsulation: "IPIPCrossSubnet", blockSize6: 116 } };
    });
    expect(issueAt(issues, "kubernetes.cni.calico.encapsulation").message).toMatch(/refuses IP-in-IP on an IPv6 pool/);
    expect(issueAt(issues, "kubernetes.cni.calico.blockSize6").message).toMatch(/\/116 IPv6 blocks are larger/);
  });

  it("checks IPv6 DNS servers and firewall sources", () => {
    const issues = issuesOf((c) => {
      c.networks.external.dns = ["2001:4860:4860::8888"];
      c.firewall = { ssh: ["fd00::/64"] };
    });
    expect(issueAt(issues, "networks.external.dns[0]").message).toMatch(/VMs have no IPv6/);
    expect(issueAt(issues, "firewall.ssh[0]").message).toMatch(/admit nothing/);
    const dualIssues = issuesOf((c) => {
      dual(c);
      c.networks.external.dns = ["fe80::1"];
      c.firewall = { rules: [{ protocol: "tcp", ports: "443", from: "fd00:1::1/64" }] };
    });
    expect(issueAt(dualIssues, "networks.external.dns[0]").message).toMatch(/link-local/);
    expect(issueAt(dualIssues, "firewall.rules[0].from").fix).toBe("write the network address: fd00:1::/64");
    // IPv4 written as IPv6 would be a rule that admits nothing; ::/0 is still every IPv6 source.
    const mapped = issuesOf((c) => (dual(c), (c.firewall = { ssh: ["::ffff:1.2.3.0/120", "::/0"] })));
    expect(issueAt(mapped, "firewall.ssh[0]").message).toMatch(/IPv4-mapped/);
    expect(issueAt(mapped, "firewall.ssh[0]").fix).toMatch(/write the IPv4 network/);
    expect(mapped.filter((i) => i.path === "firewall.ssh[1]")).toEqual([]);
  });

  it("holds a VM NIC on an IPv6 network to MTU 1280", () => {
    const issues = issuesOf((c) => (dual(c), (c.vms[0].mtu = { internal: 1200 })));
    expect(issueAt(issues, "vms[0].mtu.internal").message).toMatch(/below 1280/);
  });

  it("refuses malformed IPv6 text in the schema", () => {
    const issues = issuesOf((c) => {
      dual(c);
      c.vms[0].ip.internal6 = "fe80::1%eth1";
      bridge(c, "vmbr0").address6 = "fd00::2/129";
    });
    expect(issueAt(issues, "vms[0].ip.internal6").message).toMatch(/must be an IPv6 address/);
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[2].address6").message).toMatch(/must be an IPv6 address, optionally with a prefix/);
  });
});

describe("dual-stack MTU", () => {
  it("refuses an overlay MTU that fits VXLAN over IPv4 but not over IPv6, naming the family", () => {
    const issue = issueAt(issuesOf((c) => (dual(c), (c.kubernetes.cni.overlayMtu = 1450))), "kubernetes.cni.overlayMtu");
    expect(issue.message).toBe("1450 is above the internal NIC MTU minus vxlan overhead over IPv6 (IPv6 pods' packets) (1500 - 70 = 1430)");
    expect(issue.fix).toBe("use at most 1430, or leave it out to derive it");
    expect(planWith((c) => (dual(c), (c.kubernetes.cni.overlayMtu = 1430))).mtu.overlay).toBe(1430);
  });
});
