/**
 * The VM firewall with dual-stack (issue 22 item 1): every rule that admits a network admits its
 * IPv6 counterpart in a rule of its own, since pve-firewall refuses an address list that mixes the
 * families (src/PVE/Firewall.pm parse_address_list: "detected mixed ipv4/ipv6 addresses in address
 * list"); ICMPv6 under the protocol name pve-firewall and proxmox-firewall take (`icmpv6`).
 * Terraform plans the security groups against the provider's schema (terraform-ipv6.test.ts).
 */
import { firewallRules, type FirewallRule } from "../renderers/firewall";
import { planFrom, resourcesOf } from "./helpers";
import { synthAll } from "./synth";

const DUAL = "examples/dual-stack.yaml";
const rulesOf = (edit: (c: any) => void, role: "control-plane" | "worker") => firewallRules(planFrom(DUAL, edit), role);
const flow = (r: FirewallRule) => `${r.iface ?? "any"} ${r.proto}${r.dport ? ` ${r.dport}` : ""} from ${r.source}`;
/** pve-firewall's family test: Net::IP's ip_is_ipv6 on each list element; here, a colon. */
const familyOf = (address: string) => (address.includes(":") ? 6 : 4);

describe("dual-stack firewall rules", () => {
  const cp = rulesOf(() => {}, "control-plane");
  const worker = rulesOf(() => {}, "worker");

  it("never mixes the families in one rule (pve-firewall refuses such a list)", () => {
    const edits: ((c: any) => void)[] = [
      () => {},
      (c) => (c.firewall = { ssh: ["192.168.0.0/24", "fd00:192:168::/64", "2001:db9::/48"], nodePorts: true }),
      (c) => (c.kubernetes.cni = { plugin: "calico", calico: { encapsulation: "None", natOutgoing: false } }),
      (c) => (c.kubernetes.cni.flannel = { backend: "host-gw" }),
    ];
    for (const edit of edits) {
      for (const role of ["control-plane", "worker"] as const) {
        for (const rule of rulesOf(edit, role)) {
          const families = new Set([...rule.source.split(","), ...(rule.dest?.split(",") ?? [])].map(familyOf));
          expect([flow(rule), families.size]).toEqual([flow(rule), 1]);
          if (rule.proto === "icmp") expect(families).toEqual(new Set([4]));
          if (rule.proto === "icmpv6") expect(families).toEqual(new Set([6]));
        }
      }
    }
  });

  it("admits each IPv4 network's IPv6 counterpart: SSH, ICMPv6, API, etcd, the control-plane components, kubelet, the CNI", () => {
    expect(cp.map(flow)).toEqual(
      expect.arrayContaining([
        "net0 tcp 22 from 192.168.0.0/24",
        "net0 tcp 22 from fd00:192:168::/64",
        "net0 icmpv6 from fd00:192:168::/64",
        "net1 icmpv6 from fd00:10::/64",
        "net1 tcp 6443 from fd00:10::/64",
        "net0 tcp 6443 from fd00:192:168::/64",
        "net1 tcp 2379:2380 from fd00:10::11,fd00:10::12,fd00:10::13",
        "net1 tcp 10257 from fd00:10::/64",
        "net1 tcp 10259 from fd00:10::/64",
        "net1 tcp 10250 from fd00:10::/64",
        "net1 udp 8472 from fd00:10::/64",
      ]),
    );
    expect(worker.map(flow)).toEqual(expect.arrayContaining(["net1 tcp 10250 from fd00:10::/64", "net0 icmpv6 from fd00:192:168::/64"]));
    expect(worker.map(flow).filter((f) => /2379|6443/.test(f))).toEqual([]);
    // One IPv6 rule for each IPv4 rule (the example has no LoadBalancer pool).
    for (const rules of [cp, worker]) expect(rules.filter((r) => r.source.includes(":")).length).toBe(rules.filter((r) => !r.source.includes(":")).length);
  });

  it("lists the control planes' IPv6 addresses in numeric order, whatever the VM order", () => {
    const renumbered = rulesOf((c) => {
      c.vms[0].ip.internal6 = "fd00:10::a0";
      c.vms[2].ip.internal6 = "fd00:10::9";
      c.vms = [c.vms[2], c.vms[0], c.vms[1], c.vms[3]];
    }, "control-plane").map(flow);
    expect(renumbered).toContain("net1 tcp 2379:2380 from fd00:10::9,fd00:10::12,fd00:10::a0");
  });

  it("admits the IPv6 pod network where pod addresses cross the internal network", () => {
    const hostGw = rulesOf((c) => (c.kubernetes.cni.flannel = { backend: "host-gw" }), "worker").map(flow);
    expect(hostGw).toEqual(expect.arrayContaining(["net1 tcp from fd00:10:244::/56", "net1 udp from fd00:10:244::/56", "net1 icmpv6 from fd00:10:244::/56", "net1 tcp 10250 from fd00:10::/64,fd00:10:244::/56"]));
    expect(worker.map(flow).filter((f) => f.includes("fd00:10:244::"))).toEqual([]);
  });

  it("splits firewall.ssh by family and takes IPv6 sources of firewall.rules from the plan (canonical), on their network's NIC", () => {
    const rules = rulesOf(
      (c) =>
        (c.firewall = {
          ssh: ["192.168.0.100/32", "FD00:192:168:0::100/128"],
          nodePorts: true,
          rules: [
            { protocol: "tcp", ports: "9100", from: "fd00:10:0:0::/72" },
            { protocol: "udp", ports: "53", from: "2001:db9::/48" },
            { protocol: "tcp", ports: "80,443", from: "external", roles: ["worker"] },
          ],
        }),
      "worker",
    ).map(flow);
    expect(rules).toEqual(
      expect.arrayContaining([
        "net0 tcp 22 from 192.168.0.100/32",
        "net0 tcp 22 from fd00:192:168::100/128",
        "net1 tcp 9100 from fd00:10::/72",
        "any udp 53 from 2001:db9::/48",
        "net0 tcp 80,443 from 192.168.0.0/24",
        "net0 tcp 80,443 from fd00:192:168::/64",
        "net0 tcp 30000:32767 from fd00:192:168::/64",
        "net0 udp 30000:32767 from fd00:192:168::/64",
      ]),
    );
    expect(rules.filter((f) => f.includes(" 22 "))).toHaveLength(2);
  });

  it("with IPv6 only on the external network: IPv6 rules on the external NIC only", () => {
    const externalOnly = rulesOf((c) => {
      delete c.networks.internal.ipv6;
      delete c.kubernetes.podCidr6;
      delete c.kubernetes.serviceCidr6;
      for (const vm of c.vms) delete vm.ip.internal6;
      for (const i of c.proxmox.nodes[0].interfaces) if (i.name === "vmbr1") delete i.address6;
    }, "control-plane");
    expect(externalOnly.filter((r) => r.source.includes(":")).map(flow)).toEqual(["net0 tcp 22 from fd00:192:168::/64", "net0 icmpv6 from fd00:192:168::/64", "net0 tcp 6443 from fd00:192:168::/64"]);
  });
});

describe("dual-stack firewall resources", () => {
  it("synthesizes the IPv6 rules into the security groups; the VM firewall keeps ndp on and radv off", () => {
    const stack = synthAll(planFrom(DUAL)).vms;
    const groups = resourcesOf(stack, "proxmox_virtual_environment_cluster_firewall_security_group");
    expect(groups[0].rule).toContainEqual({ type: "in", action: "ACCEPT", proto: "icmpv6", source: "fd00:10::/64", iface: "net1", comment: "ICMPv6: ping, path MTU discovery" });
    expect(groups[0].rule).toContainEqual({ type: "in", action: "ACCEPT", proto: "tcp", dport: "2379:2380", source: "fd00:10::11,fd00:10::12,fd00:10::13", iface: "net1", comment: "etcd between control planes" });
    // Neighbour discovery needs no rule of ours: ndp=1 admits it (pve-firewall ruleset_chain_add_ndp).
    for (const o of resourcesOf(stack, "proxmox_virtual_environment_firewall_options")) expect(o).toMatchObject({ ndp: true, radv: false });
  });
});

describe("the CNI's flows between nodes, by the family each crosses the internal network in", () => {
  const cniFlows = (edit: (c: any) => void) => rulesOf(edit, "worker").filter((r) => /flannel|Cilium|Calico/.test(r.comment)).map(flow);
  it("Flannel VXLAN: IPv6 pods ride VXLAN over IPv6, so 8472 from both networks", () => {
    expect(cniFlows(() => {})).toEqual(["net1 udp 8472 from 10.0.0.0/24", "net1 udp 8472 from fd00:10::/64"]);
  });
  it("Flannel WireGuard: the IPv4 tunnel's port from IPv4 only, the IPv6 tunnel's from IPv6 only (mode separate)", () => {
    expect(cniFlows((c) => (c.kubernetes.cni.flannel = { backend: "wireguard" }))).toEqual(["net1 udp 51820 from 10.0.0.0/24", "net1 udp 51821 from fd00:10::/64"]);
  });
  it("Cilium's tunnel runs over IPv4 even for IPv6 pods: its VXLAN from IPv4 only, health and Hubble from both", () => {
    expect(cniFlows((c) => (c.kubernetes.cni = { plugin: "cilium", cilium: { hubble: true } }))).toEqual([
      "net1 udp 8472 from 10.0.0.0/24",
      "net1 tcp 4240 from 10.0.0.0/24",
      "net1 tcp 4240 from fd00:10::/64",
      "net1 tcp 4244 from 10.0.0.0/24",
      "net1 tcp 4244 from fd00:10::/64",
    ]);
  });
});
