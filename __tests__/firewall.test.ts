/**
 * The Proxmox VM firewall derived from the plan: every flow the cluster needs is open, from the
 * network it comes from, on the NIC it arrives on, and nothing else (input policy DROP).
 */
import { firewallRules, securityGroupName, type FirewallRule } from "../renderers/firewall";
import { planWith, resourcesOf } from "./helpers";
import { synthAll } from "./synth";

const rulesOf = (edit: (c: any) => void, vmName: string) => {
  const plan = planWith(edit);
  return firewallRules(plan, plan.vms.find((vm) => vm.name === vmName)!.role);
};
/** A rule as "iface proto port from" for set comparisons. */
const flow = (r: FirewallRule) => `${r.iface ?? "any"} ${r.proto}${r.dport ? ` ${r.dport}` : ""} from ${r.source}`;

const CNIS: [string, (c: any) => void][] = [
  ["flannel vxlan", () => {}],
  ["flannel wireguard", (c) => (c.kubernetes.cni.flannel = { backend: "wireguard" })],
  ["flannel host-gw", (c) => (c.kubernetes.cni.flannel = { backend: "host-gw" })],
  ["calico VXLAN", (c) => (c.kubernetes.cni = { plugin: "calico" })],
  ["calico IPIP", (c) => (c.kubernetes.cni = { plugin: "calico", calico: { encapsulation: "IPIP" } })],
  ["calico unencapsulated", (c) => (c.kubernetes.cni = { plugin: "calico", calico: { encapsulation: "None" } })],
  ["cilium vxlan", (c) => (c.kubernetes.cni = { plugin: "cilium" })],
  ["cilium geneve with hubble", (c) => (c.kubernetes.cni = { plugin: "cilium", cilium: { tunnelProtocol: "geneve", hubble: true } })],
  ["cilium native", (c) => (c.kubernetes.cni = { plugin: "cilium", cilium: { routingMode: "native" } })],
];

describe.each(CNIS)("firewall with %s", (_name, edit) => {
  it("renders as before, per role", () => {
    expect({ "control-plane": rulesOf(edit, "master-1").map(flow), worker: rulesOf(edit, "app-worker").map(flow) }).toMatchSnapshot();
  });
});

describe("firewall rules", () => {
  const cp = rulesOf(() => {}, "master-1").map(flow);
  const worker = rulesOf(() => {}, "app-worker").map(flow);

  it("opens the API on the internal NIC to the internal network, and on the external NIC for kubectl, on control planes only", () => {
    expect(cp).toContain("net1 tcp 6443 from 10.0.0.0/24");
    expect(cp).toContain("net0 tcp 6443 from 192.168.0.0/24");
    expect(worker.filter((f) => f.includes(" 6443 "))).toEqual([]);
    const internalOnly = rulesOf((c) => (c.kubernetes.apiServer = { externalAccess: { enabled: false } }), "master-1").map(flow);
    expect(internalOnly.filter((f) => f.includes(" 6443 "))).toEqual(["net1 tcp 6443 from 10.0.0.0/24"]);
  });

  it("opens etcd only between control planes, and the control-plane components to the internal network", () => {
    expect(cp).toContain("net1 tcp 2379:2380 from 10.0.0.11,10.0.0.12,10.0.0.13");
    expect(cp).toEqual(expect.arrayContaining(["net1 tcp 10257 from 10.0.0.0/24", "net1 tcp 10259 from 10.0.0.0/24"]));
    expect(worker.filter((f) => /2379|10257|10259/.test(f))).toEqual([]);
  });

  it("lists the control planes in address order, so reordering the VMs changes no rule", () => {
    const reordered = rulesOf((c) => (c.vms = [c.vms[3], c.vms[2], c.vms[0], c.vms[1]]), "master-1").map(flow);
    expect(reordered).toEqual(cp);
    // Numeric order, not text order: .9 before .10.
    const renumbered = rulesOf((c) => ((c.vms[2].ip.internal = "10.0.0.9"), (c.vms[0].ip.internal = "10.0.0.100")), "master-1").map(flow);
    expect(renumbered).toContain("net1 tcp 2379:2380 from 10.0.0.9,10.0.0.12,10.0.0.100");
  });

  it("opens the kubelet, SSH from management and ICMP on every node", () => {
    for (const rules of [cp, worker]) {
      expect(rules).toEqual(expect.arrayContaining(["net1 tcp 10250 from 10.0.0.0/24", "net0 tcp 22 from 192.168.0.0/24", "net0 icmp from 192.168.0.0/24", "net1 icmp from 10.0.0.0/24"]));
    }
  });

  it("opens exactly the overlay of the chosen CNI, on the internal NIC only", () => {
    const overlay = (edit: (c: any) => void) =>
      rulesOf(edit, "app-worker")
        .filter((r) => /flannel|Calico|Cilium|routed/.test(r.comment))
        .map(flow);
    expect(overlay(CNIS[0]![1])).toEqual(["net1 udp 8472 from 10.0.0.0/24"]);
    expect(overlay((c) => (c.kubernetes.cni.flannel = { port: 4789 }))).toEqual(["net1 udp 4789 from 10.0.0.0/24"]);
    expect(overlay(CNIS[1]![1])).toEqual(["net1 udp 51820 from 10.0.0.0/24"]);
    expect(overlay(CNIS[2]![1])).toEqual(["net1 tcp from 10.244.0.0/16", "net1 udp from 10.244.0.0/16", "net1 icmp from 10.244.0.0/16"]);
    expect(overlay(CNIS[3]![1])).toEqual(["net1 udp 4789 from 10.0.0.0/24", "net1 tcp 5473 from 10.0.0.0/24"]);
    expect(overlay(CNIS[4]![1])).toEqual(["net1 tcp 179 from 10.0.0.0/24", "net1 4 from 10.0.0.0/24", "net1 tcp 5473 from 10.0.0.0/24"]);
    expect(overlay(CNIS[5]![1])).toEqual(expect.arrayContaining(["net1 tcp 179 from 10.0.0.0/24", "net1 tcp from 10.244.0.0/16"]));
    // Cilium v1.20.0: VXLAN 8472 or Geneve 6081 (values.yaml tunnelPort), cilium-health 4240, Hubble 4244 when enabled.
    expect(overlay(CNIS[6]![1])).toEqual(["net1 udp 8472 from 10.0.0.0/24", "net1 tcp 4240 from 10.0.0.0/24"]);
    expect(overlay(CNIS[7]![1])).toEqual(["net1 udp 6081 from 10.0.0.0/24", "net1 tcp 4240 from 10.0.0.0/24", "net1 tcp 4244 from 10.0.0.0/24"]);
    expect(overlay(CNIS[8]![1])).toEqual(["net1 tcp 4240 from 10.0.0.0/24", "net1 tcp from 10.244.0.0/16", "net1 udp from 10.244.0.0/16", "net1 icmp from 10.244.0.0/16"]);
  });

  it("lets pod addresses reach the API and kubelet when pods are routed without encapsulation", () => {
    const routed = rulesOf(CNIS[2]![1], "master-1").map(flow);
    expect(routed).toContain("net1 tcp 6443 from 10.0.0.0/24,10.244.0.0/16");
  });

  it("admits the pod network between nodes with flannel's vxlan DirectRouting, as with host-gw", () => {
    // backends.md (flannel v0.28.9): DirectRouting routes "like host-gw" between hosts on the same
    // subnet, and every node is on the internal subnet: pod packets arrive unencapsulated.
    const direct = (c: any) => (c.kubernetes.cni.flannel = { directRouting: true });
    expect(rulesOf(direct, "app-worker").map(flow)).toEqual(
      expect.arrayContaining(["net1 udp 8472 from 10.0.0.0/24", "net1 tcp from 10.244.0.0/16", "net1 udp from 10.244.0.0/16", "net1 icmp from 10.244.0.0/16", "net1 tcp 10250 from 10.0.0.0/24,10.244.0.0/16"]),
    );
    expect(rulesOf(direct, "master-1").map(flow)).toContain("net1 tcp 6443 from 10.0.0.0/24,10.244.0.0/16");
  });

  it.each(["VXLAN", "IPIP"])("lets pods reach the API and the kubelets with their own addresses with Calico %s and natOutgoing: false, and no more", (encapsulation) => {
    const noNat = (c: any) => (c.kubernetes.cni = { plugin: "calico", calico: { encapsulation, natOutgoing: false } });
    const cp = rulesOf(noNat, "master-1").map(flow);
    expect(cp).toEqual(expect.arrayContaining(["6443", "10257", "10259", "10250"].map((port) => `net1 tcp ${port} from 10.0.0.0/24,10.244.0.0/16`)));
    expect(rulesOf(noNat, "app-worker").map(flow)).toContain("net1 tcp 10250 from 10.0.0.0/24,10.244.0.0/16");
    // Pod to pod is still encapsulated: no rule for the pod network as such.
    expect(cp.filter((f) => f.endsWith("from 10.244.0.0/16"))).toEqual([]);
    // With outgoing NAT (the default) pods reach other nodes with their node's address.
    const nat = rulesOf((c) => (c.kubernetes.cni = { plugin: "calico", calico: { encapsulation } }), "master-1").map(flow);
    expect(nat.filter((f) => f.includes("10.244."))).toEqual([]);
  });

  // Every accepted CNI setting, and where its pod traffic keeps pod addresses on the internal network
  // (flannel v0.28.9 backends.md and --ip-masq; Calico "Overlay networking" and "Configure outgoing NAT").
  const SETTINGS: [string, (c: any) => void, { toPods: boolean; toNodes: boolean }][] = [
    ["flannel vxlan", () => {}, { toPods: false, toNodes: false }],
    ["flannel vxlan DirectRouting", (c) => (c.kubernetes.cni.flannel = { directRouting: true }), { toPods: true, toNodes: false }],
    ["flannel wireguard", (c) => (c.kubernetes.cni.flannel = { backend: "wireguard" }), { toPods: false, toNodes: false }],
    ["flannel host-gw", (c) => (c.kubernetes.cni.flannel = { backend: "host-gw" }), { toPods: true, toNodes: false }],
    ...(["VXLAN", "IPIP", "None", "VXLANCrossSubnet", "IPIPCrossSubnet"] as const).flatMap((encapsulation) =>
      [true, false].map((natOutgoing): [string, (c: any) => void, { toPods: boolean; toNodes: boolean }] => [
        `calico ${encapsulation} natOutgoing ${natOutgoing}`,
        (c) => (c.kubernetes.cni = { plugin: "calico", calico: { encapsulation, natOutgoing } }),
        { toPods: encapsulation === "None" || encapsulation.endsWith("CrossSubnet"), toNodes: !natOutgoing },
      ]),
    ),
    // Cilium: tunnel encapsulates pod to pod, native routes it; masquerading (the chart's default) stays on.
    ...(["tunnel", "native"] as const).flatMap((routingMode) =>
      (["vxlan", "geneve"] as const).flatMap((tunnelProtocol) =>
        [false, true].flatMap((hubble) =>
          [false, true].map((kubeProxyReplacement): [string, (c: any) => void, { toPods: boolean; toNodes: boolean }] => [
            `cilium ${routingMode} ${tunnelProtocol} hubble ${hubble} kubeProxyReplacement ${kubeProxyReplacement}`,
            (c) => (c.kubernetes.cni = { plugin: "cilium", cilium: { routingMode, tunnelProtocol, hubble, kubeProxyReplacement } }),
            { toPods: routingMode === "native", toNodes: false },
          ]),
        ),
      ),
    ),
  ];

  it.each(SETTINGS)("%s: admits pod addresses exactly where they cross the internal network", (_name, edit, expected) => {
    const plan = planWith(edit);
    expect(plan.cni.podSourced).toEqual(expected);
    for (const role of ["control-plane", "worker"] as const) {
      const flows = firewallRules(plan, role).map(flow);
      const podNetwork = ["tcp", "udp", "icmp"].map((proto) => `net1 ${proto} from 10.244.0.0/16`);
      if (expected.toPods) expect(flows).toEqual(expect.arrayContaining(podNetwork));
      else expect(flows.filter((f) => podNetwork.includes(f))).toEqual([]);
      const kubelet = expected.toPods || expected.toNodes ? "10.0.0.0/24,10.244.0.0/16" : "10.0.0.0/24";
      expect(flows).toContain(`net1 tcp 10250 from ${kubelet}`);
      if (role === "control-plane") expect(flows).toContain(`net1 tcp 6443 from ${kubelet}`);
      // The CNI's own flows, from the internal network only, exactly as its model states them.
      for (const peer of plan.cni.peerFlows) expect(flows).toContain(`net1 ${peer.proto}${peer.port ? ` ${peer.port}` : ""} from 10.0.0.0/24`);
    }
    if (plan.cni.plugin === "cilium") {
      const c = plan.config.kubernetes.cni.cilium;
      const ports = plan.cni.peerFlows.map((f) => `${f.proto} ${f.port}`);
      expect(ports).toEqual([...(c.routingMode === "tunnel" ? [`udp ${c.tunnelProtocol === "vxlan" ? 8472 : 6081}`] : []), "tcp 4240", ...(c.hubble ? ["tcp 4244"] : [])]);
    }
  });

  it("opens NodePorts from the external network only when asked", () => {
    expect(worker.filter((f) => f.includes("30000:32767"))).toEqual([]);
    const open = rulesOf((c) => (c.firewall = { nodePorts: true }), "app-worker").map(flow);
    expect(open.filter((f) => f.includes("30000:32767"))).toEqual(["net0 tcp 30000:32767 from 192.168.0.0/24", "net0 udp 30000:32767 from 192.168.0.0/24"]);
  });

  it("adds the description's own rules on the NIC of the network they come from", () => {
    const rules = rulesOf(
      (c) =>
        (c.firewall = {
          ssh: ["192.168.0.100/32"],
          rules: [
            { protocol: "tcp", ports: "80,443", from: "external", roles: ["worker"], comment: "ingress" },
            { protocol: "tcp", ports: "9100", from: "10.0.0.0/25" },
            { protocol: "udp", ports: "53", from: "172.30.0.0/16" },
          ],
        }),
      "app-worker",
    ).map(flow);
    expect(rules).toEqual(expect.arrayContaining(["net0 tcp 22 from 192.168.0.100/32", "net0 tcp 80,443 from 192.168.0.0/24", "net1 tcp 9100 from 10.0.0.0/25", "any udp 53 from 172.30.0.0/16"]));
    expect(rulesOf((c) => (c.firewall = { rules: [{ protocol: "tcp", ports: "80", from: "external", roles: ["worker"] }] }), "master-1").map(flow)).not.toContain("net0 tcp 80 from 192.168.0.0/24");
  });
});

describe("firewall resources", () => {
  const stack = synthAll(planWith()).vms;
  const groups = resourcesOf(stack, "proxmox_virtual_environment_cluster_firewall_security_group");

  it("enables the firewall of every VM with input DROP, the MAC filter on and the IP filter off (the VIP must pass)", () => {
    const options = resourcesOf(stack, "proxmox_virtual_environment_firewall_options");
    expect(options).toHaveLength(4);
    for (const o of options) expect(o).toMatchObject({ enabled: true, input_policy: "DROP", output_policy: "ACCEPT", macfilter: true, ipfilter: false });
    expect(options.map((o) => o.vm_id).sort()).toEqual([111, 112, 113, 114]);
  });

  it("keeps the rules in one security group per role, each rule an inbound ACCEPT", () => {
    expect(groups.map((g) => g.name)).toEqual(["k8s-detectviz-cp", "k8s-detectviz-wk"]);
    expect(groups[0].rule).toContainEqual({ type: "in", action: "ACCEPT", proto: "tcp", dport: "2379:2380", source: "10.0.0.11,10.0.0.12,10.0.0.13", iface: "net1", comment: "etcd between control planes" });
    expect(groups[0].rule).toHaveLength(firewallRules(planWith(), "control-plane").length);
    expect(groups[1].rule.map((r: any) => r.dport)).not.toContain("2379:2380");
  });

  it("synthesizes the pod network's rules where the CNI puts pod addresses on the internal network", () => {
    const groupRules = (edit: (c: any) => void, role: "cp" | "wk") =>
      resourcesOf(synthAll(planWith(edit)).vms, "proxmox_virtual_environment_cluster_firewall_security_group").find((g) => g.name === `k8s-detectviz-${role}`).rule;
    const direct = groupRules((c) => (c.kubernetes.cni.flannel = { directRouting: true }), "wk");
    expect(direct).toContainEqual({ type: "in", action: "ACCEPT", proto: "tcp", source: "10.244.0.0/16", iface: "net1", comment: "pod traffic, routed without encapsulation" });
    const noNat = groupRules((c) => (c.kubernetes.cni = { plugin: "calico", calico: { natOutgoing: false } }), "cp");
    expect(noNat).toContainEqual(expect.objectContaining({ proto: "tcp", dport: "6443", source: "10.0.0.0/24,10.244.0.0/16", iface: "net1" }));
  });

  it("gives every VM its role's group, once the VM and the group exist", () => {
    const rules = resourcesOf(stack, "proxmox_virtual_environment_firewall_rules");
    expect(rules.map((r) => [r.vm_id, r.rule]).sort((a, b) => a[0] - b[0])).toEqual([
      [111, [{ security_group: "k8s-detectviz-cp", comment: "Kubernetes control-plane (pve-dualnet)" }]],
      [112, [{ security_group: "k8s-detectviz-cp", comment: "Kubernetes control-plane (pve-dualnet)" }]],
      [113, [{ security_group: "k8s-detectviz-cp", comment: "Kubernetes control-plane (pve-dualnet)" }]],
      [114, [{ security_group: "k8s-detectviz-wk", comment: "Kubernetes worker (pve-dualnet)" }]],
    ]);
    expect(rules.find((r) => r.vm_id === 111).depends_on).toEqual([expect.stringMatching(/^proxmox_virtual_environment_vm\.vm-master-1_vm_/), expect.stringMatching(/^proxmox_virtual_environment_cluster_firewall_security_group\.firewall-control-plane_group_/)]);
  });

  it("names groups as Proxmox allows ([A-Za-z][A-Za-z0-9_-]+, at most 18), distinct per cluster and role", () => {
    const names = ["detectviz", "a", "production-cluster-one", "production-cluster-two", "1lab"].flatMap((name) => {
      const plan = planWith((c) => (c.name = name));
      return (["control-plane", "worker"] as const).map((role) => securityGroupName(plan, role));
    });
    for (const name of names) expect(name).toMatch(/^[A-Za-z][A-Za-z0-9_-]{1,17}$/);
    expect(new Set(names).size).toBe(names.length);
  });

  it("with the firewall off: no groups, no rules, and NICs without the firewall flag", () => {
    const off = synthAll(planWith((c) => (c.firewall = { enabled: false }))).vms;
    expect(resourcesOf(off, "proxmox_virtual_environment_cluster_firewall_security_group")).toEqual([]);
    expect(resourcesOf(off, "proxmox_virtual_environment_firewall_rules")).toEqual([]);
    expect(resourcesOf(off, "proxmox_virtual_environment_firewall_options")).toEqual([]);
    for (const vm of resourcesOf(off, "proxmox_virtual_environment_vm")) expect(vm.network_device.map((n: any) => n.firewall)).toEqual([false, false]);
    for (const vm of resourcesOf(stack, "proxmox_virtual_environment_vm")) expect(vm.network_device.map((n: any) => n.firewall)).toEqual([true, true]);
  });
});
