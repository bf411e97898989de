import { parse } from "yaml";
import { calicoNetworkProblems } from "./cni/calico-installation";
import { flannelConfigProblems, flannelVxlanMtus } from "./cni/flannel-config";
import { CILIUM_VERSION } from "../config/schema";
import { ciliumHelmValues, CILIUM_CHART_VERSION } from "../renderers/cilium";
import { planFrom, planWith, resourcesOf } from "./helpers";
import { synthAll } from "./synth";

const jumbo = (c: any) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true });
const cniOf = (edit: (c: any) => void = () => {}) => synthAll(planWith(edit)).cni;
const netConf = (stack: any) => JSON.parse(resourcesOf(stack, "kubernetes_config_map_v1")[0].data["net-conf.json"]);
const flanneld = (stack: any) => resourcesOf(stack, "kubernetes_daemon_set_v1")[0].spec.template.spec.container[0];

describe("Flannel (default)", () => {
  const stack = cniOf();

  it("synthesizes as before", () => {
    expect(stack).toMatchSnapshot();
  });

  it("installs the upstream v0.28.9 set of resources as typed Kubernetes resources", () => {
    expect(Object.keys(stack.resource).sort()).toEqual([
      "kubernetes_cluster_role_binding_v1",
      "kubernetes_cluster_role_v1",
      "kubernetes_config_map_v1",
      "kubernetes_daemon_set_v1",
      "kubernetes_namespace_v1",
      "kubernetes_service_account_v1",
    ]);
    expect(resourcesOf(stack, "kubernetes_namespace_v1")[0].metadata).toEqual({
      name: "kube-flannel",
      labels: { "k8s-app": "flannel", "pod-security.kubernetes.io/enforce": "privileged" },
    });
    const pod = resourcesOf(stack, "kubernetes_daemon_set_v1")[0].spec.template.spec;
    expect(pod).toMatchObject({ host_network: true, priority_class_name: "system-node-critical", toleration: [{ operator: "Exists", effect: "NoSchedule" }] });
    expect(pod.init_container.map((c: any) => [c.name, c.image])).toEqual([
      ["install-cni-plugin", "ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3"],
      ["install-cni", "ghcr.io/flannel-io/flannel:v0.28.9"],
    ]);
    expect(pod.volume.map((v: any) => [v.name, v.host_path?.path ?? v.config_map.name])).toEqual([
      ["run", "/run/flannel"],
      ["cni-plugin", "/opt/cni/bin"],
      ["cni", "/etc/cni/net.d"],
      ["flannel-cfg", expect.stringMatching(/^\$\{kubernetes_config_map_v1\.flannel_config_[0-9A-F]+\.metadata\[0\]\.name\}$/)],
      ["xtables-lock", "/run/xtables.lock"],
    ]);
    expect(flanneld(stack)).toMatchObject({
      image: "ghcr.io/flannel-io/flannel:v0.28.9",
      liveness_probe: { http_get: { path: "/healthz", port: "healthz" } },
      readiness_probe: { http_get: { path: "/readyz", port: "healthz" } },
      security_context: { privileged: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
    });
  });

  it("derives net-conf.json from the plan: pod CIDR, vxlan, and the underlay MTU flannel subtracts 50 from", () => {
    expect(netConf(stack)).toEqual({
      Network: "10.244.0.0/16",
      SubnetLen: 24,
      EnableNFTables: false,
      Backend: { Type: "vxlan", VNI: 1, Port: 8472, MTU: 1500, DirectRouting: false },
    });
  });

  it("follows a jumbo internal network: underlay 9000, overlay 9000 - 50 = 8950", () => {
    const plan = planWith(jumbo);
    expect(plan.mtu.overlay).toBe(8950);
    expect(netConf(synthAll(plan).cni).Backend.MTU).toBe(9000);
  });

  it("honours a lower overlay MTU by lowering the backend MTU", () => {
    expect(netConf(cniOf((c) => (c.kubernetes.cni.overlayMtu = 1400))).Backend.MTU).toBe(1450);
  });

  it("configures vxlan's MTU with the plan's underlay MTU, the same with DirectRouting", () => {
    const plan = planWith((c) => (c.kubernetes.cni.flannel = { directRouting: true }));
    expect(plan.cni).toMatchObject({ encapsulation: "vxlan", overhead: 50, underlayMtu: 1500 });
    expect(netConf(synthAll(plan).cni).Backend).toEqual({ Type: "vxlan", VNI: 1, Port: 8472, MTU: 1500, DirectRouting: true });
  });

  it("passes no --mtu flag (flanneld v0.28.9 has none) and selects the internal NIC by reachability by default", () => {
    expect(flanneld(stack).args).toEqual(["--ip-masq", "--kube-subnet-mgr", "--healthz-port=8081", "--iface-can-reach=10.0.0.2"]);
    expect(flanneld(stack).args.join(" ")).not.toMatch(/--mtu/);
  });

  it("uses the pinned guest name when the network-data snippet renames NICs", () => {
    const named = cniOf((c) => (c.vmDefaults.cloudInit.networkData = { enabled: true, interfaceNames: ["ext0", "int0"] }));
    expect(flanneld(named).args).toContain("--iface=int0");
  });

  it("accepts a regex or a reachable address instead", () => {
    // Names and patterns only where the network-data snippet pins the guest's NIC names.
    const pinned = (c: any) => (c.vmDefaults.cloudInit.networkData = { enabled: true });
    expect(flanneld(cniOf((c) => (pinned(c), (c.kubernetes.cni.flannel.interface = { regex: "^(eth1|ens19)$" })))).args).toContain("--iface-regex=^(eth1|ens19)$");
    expect(flanneld(cniOf((c) => (c.kubernetes.cni.flannel.interface = { canReach: "10.0.0.1" }))).args).toContain("--iface-can-reach=10.0.0.1");
  });

  it("configures host-gw without encapsulation: pods get the full NIC MTU", () => {
    const plan = planWith((c) => (c.kubernetes.cni.flannel = { backend: "host-gw" }));
    expect(plan.mtu).toMatchObject({ overhead: 0, overlay: 1500 });
    expect(netConf(synthAll(plan).cni).Backend).toEqual({ Type: "host-gw" });
  });

  it("plans WireGuard with flannel's own 80-byte reservation", () => {
    const plan = planWith((c) => (c.kubernetes.cni.flannel = { backend: "wireguard" }));
    expect(plan.mtu).toMatchObject({ overhead: 80, overlay: 1420 });
    expect(netConf(synthAll(plan).cni).Backend).toEqual({ Type: "wireguard", MTU: 1500 });
  });

  it("restarts flannel when its network configuration changes", () => {
    const annotation = (s: any) => resourcesOf(s, "kubernetes_daemon_set_v1")[0].spec.template.metadata.annotations["pve-dualnet/net-conf-sha256"];
    expect(annotation(cniOf(jumbo))).not.toBe(annotation(stack));
  });

  it("reads the kubeconfig from a path variable and embeds no credentials", () => {
    expect(stack.provider.kubernetes).toEqual([{ config_path: "${var.kubeconfig_path}", config_context: "${(length(var.kubeconfig_context) < 1) ? null : var.kubeconfig_context}" }]);
    // The file the node setup writes; never ~/.kube/config, which it must not overwrite.
    expect(stack.variable.kubeconfig_path.default).toBe("~/.kube/detectviz.conf");
    expect(JSON.stringify(stack)).not.toMatch(/client_key|client_certificate|token|password/i);
  });

  it("outputs the MTU chain", () => {
    expect(stack.output.mtu_chain.value).toEqual({ underlay: 1500, vm_nic: 1500, encapsulation: "vxlan", overhead: 50, overlay: 1450 });
  });
});

describe("Calico (alternative)", () => {
  const calico = (edit: (c: any) => void = () => {}) =>
    resourcesOf(
      cniOf((c) => {
        c.kubernetes.cni.plugin = "calico";
        edit(c);
      }),
      "kubernetes_manifest",
    )[0].manifest;

  it("autodetects node addresses on the internal subnet and pins the MTU from the plan", () => {
    expect(calico(jumbo)).toEqual({
      apiVersion: "operator.tigera.io/v1",
      kind: "Installation",
      metadata: { name: "default" },
      spec: {
        calicoNetwork: {
          bgp: "Disabled",
          mtu: 8950,
          nodeAddressAutodetectionV4: { cidrs: ["10.0.0.0/24"] },
          ipPools: [{ name: "default-ipv4-ippool", cidr: "10.244.0.0/16", blockSize: 26, encapsulation: "VXLAN", natOutgoing: "Enabled", nodeSelector: "all()" }],
        },
      },
    });
  });

  it("turns BGP and outgoing NAT on and off as the CNI plan has them", () => {
    const network = (calicoSettings: any) => calico((c) => (c.kubernetes.cni.calico = calicoSettings)).spec.calicoNetwork;
    expect(network({ encapsulation: "VXLANCrossSubnet", natOutgoing: false })).toMatchObject({ bgp: "Disabled", ipPools: [{ encapsulation: "VXLANCrossSubnet", natOutgoing: "Disabled" }] });
    expect(network({ encapsulation: "None" })).toMatchObject({ bgp: "Enabled", mtu: 1500, ipPools: [{ encapsulation: "None", natOutgoing: "Enabled" }] });
    expect(network({ encapsulation: "IPIPCrossSubnet" })).toMatchObject({ bgp: "Enabled", mtu: 1480 });
  });

  it("offers interface and can-reach autodetection, and IPIP with BGP", () => {
    const pinned = (c: any) => (c.vmDefaults.cloudInit.networkData = { enabled: true });
    expect(calico((c) => (pinned(c), (c.kubernetes.cni.calico = { autodetection: { interface: "eth1" } }))).spec.calicoNetwork.nodeAddressAutodetectionV4).toEqual({ interface: "eth1" });
    const ipip = calico((c) => (c.kubernetes.cni.calico = { encapsulation: "IPIP", autodetection: { canReach: "10.0.0.2" } })).spec.calicoNetwork;
    expect(ipip).toMatchObject({ bgp: "Enabled", mtu: 1480, nodeAddressAutodetectionV4: { canReach: "10.0.0.2" } });
  });
});

/** examples/dual-stack.yaml (IPv6 on both networks: Kubernetes dual-stack) with the CNI `edit` sets. */
const dualStack = (edit: (c: any) => void = () => {}) => planFrom("examples/dual-stack.yaml", edit);

describe("Flannel, dual-stack", () => {
  const plan = dualStack();
  const conf = netConf(synthAll(plan).cni);

  it("enables IPv6 with the IPv6 pod network and node subnet size in net-conf.json, which flannel v0.28.9's Config takes", () => {
    expect(conf).toEqual({
      Network: "10.244.0.0/16",
      SubnetLen: 24,
      EnableIPv6: true,
      IPv6Network: "fd00:10:244::/56",
      IPv6SubnetLen: 64,
      EnableNFTables: false,
      Backend: { Type: "vxlan", VNI: 1, Port: 8472, MTU: 1480, DirectRouting: false },
    });
    expect(flannelConfigProblems(conf)).toEqual([]);
    for (const backend of ["wireguard", "host-gw"]) expect([backend, flannelConfigProblems(netConf(synthAll(dualStack((c) => (c.kubernetes.cni.flannel = { backend }))).cni))]).toEqual([backend, []]);
  });

  it("the check can fail: IPv6 without its network, a node subnet the network cannot hold four times, a misspelt key", () => {
    const noNetwork = { ...conf };
    delete noNetwork.IPv6Network;
    expect(flannelConfigProblems(noNetwork)).toEqual(["IPv6Network: please define a correct IPv6Network parameter in the flannel config"]);
    expect(flannelConfigProblems({ ...conf, IPv6SubnetLen: 57 })).toEqual(["IPv6SubnetLen: network must be able to accommodate at least four subnets"]);
    expect(flannelConfigProblems({ ...conf, IPv6Subnetlen: 64 })).toEqual(["IPv6Subnetlen: not a field of flannel's Config"]);
  });

  it("sizes the pods for VXLAN over IPv6: flanneld's pod MTU plus 70 bytes fills the internal NIC, no more", () => {
    // flannel-v6.<VNI> carries IPv6 pods over the nodes' IPv6 addresses (outer IPv6 40 + UDP 8 + VXLAN 8 + Ethernet 14).
    expect(plan.mtu).toMatchObject({ internalNic: 1500, overhead: 70, overheadByFamily: { ipv4: 50, ipv6: 70 }, overlay: 1430 });
    const mtus = flannelVxlanMtus(conf.Backend.MTU);
    expect(mtus.pods).toBe(plan.mtu.overlay);
    expect(mtus.device6 + 70).toBe(plan.mtu.internalNic);
    expect(mtus.device + 50).toBeLessThanOrEqual(plan.mtu.internalNic);
    expect(synthAll(plan).cni.output.mtu_chain.value).toEqual({ underlay: 1500, vm_nic: 1500, encapsulation: "vxlan", overhead: 70, overhead_ipv4: 50, overhead_ipv6: 70, overlay: 1430 });
  });

  it("keeps WireGuard's 80 bytes for both families and listens for IPv6 on flannel's ListenPortV6 (51821)", () => {
    const wg = dualStack((c) => (c.kubernetes.cni.flannel = { backend: "wireguard" }));
    expect(wg.mtu).toMatchObject({ overhead: 80, overlay: 1420 });
    expect(wg.cni.peerFlows.map((f) => f.port)).toEqual([51820, 51821]);
  });
});

describe("Calico, dual-stack", () => {
  const network = (calico: Record<string, unknown> = {}, edit: (c: any) => void = () => {}) =>
    resourcesOf(synthAll(dualStack((c) => ((c.kubernetes.cni = { plugin: "calico", calico }), edit(c)))).cni, "kubernetes_manifest")[0].manifest.spec.calicoNetwork;

  it("adds an IPv6 pool with the IPv4 pool's encapsulation and NAT, autodetects the IPv6 address on the internal network, and sizes the pods for VXLAN over IPv6", () => {
    const net = network();
    expect(net).toEqual({
      bgp: "Disabled",
      mtu: 1430,
      nodeAddressAutodetectionV4: { cidrs: ["10.0.0.0/24"] },
      nodeAddressAutodetectionV6: { cidrs: ["fd00:10::/64"] },
      ipPools: [
        { name: "default-ipv4-ippool", cidr: "10.244.0.0/16", blockSize: 26, encapsulation: "VXLAN", natOutgoing: "Enabled", nodeSelector: "all()" },
        { name: "default-ipv6-ippool", cidr: "fd00:10:244::/56", blockSize: 122, encapsulation: "VXLAN", natOutgoing: "Enabled", nodeSelector: "all()" },
      ],
    });
    expect(calicoNetworkProblems(net)).toEqual([]);
    // The operator sets FELIX_VXLANMTUV6 to calicoNetwork.mtu: 1430 + 70 fills the 1500-byte internal NIC.
    expect(net.mtu + 70).toBe(1500);
  });

  it("the operator takes every mode allowed with dual-stack, an interface pattern for both families, and a block size of its own", () => {
    const pinned = (c: any) => (c.vmDefaults.cloudInit = { networkData: { enabled: true } });
    for (const encapsulation of ["VXLAN", "VXLANCrossSubnet", "None"]) expect([encapsulation, calicoNetworkProblems(network({ encapsulation }))]).toEqual([encapsulation, []]);
    expect(network({ encapsulation: "None" })).toMatchObject({ bgp: "Enabled", mtu: 1500 });
    const byName = network({ autodetection: { interface: "eth1" } }, pinned);
    expect([byName.nodeAddressAutodetectionV4, byName.nodeAddressAutodetectionV6]).toEqual([{ interface: "eth1" }, { interface: "eth1" }]);
    expect(network({ autodetection: { canReach: "10.0.0.2" } }).nodeAddressAutodetectionV6).toEqual({ cidrs: ["fd00:10::/64"] });
    expect(network({}, (c) => (c.kubernetes.cni.calico.blockSize6 = 120)).ipPools[1].blockSize).toBe(120);
  });

  it("the check can fail: IP-in-IP on the IPv6 pool, a block size outside the IPv6 range, two methods for one family", () => {
    const net = network();
    const v6 = (edit: Record<string, unknown>) => ({ ...net, ipPools: [net.ipPools[0], { ...net.ipPools[1], ...edit }] });
    expect(calicoNetworkProblems(v6({ encapsulation: "IPIP" }))).toEqual(["IPIP encapsulation is not supported by IPv6 pools, but it is set for fd00:10:244::/56"]);
    expect(calicoNetworkProblems(v6({ blockSize: 26 }))).toEqual(["ipPool.blockSize must be greater than 115 and less than or equal to 128"]);
    expect(calicoNetworkProblems({ ...net, nodeAddressAutodetectionV6: { cidrs: ["fd00:10::/64"], interface: "eth1" } })).toEqual([
      "nodeAddressAutodetectionV6: no more than one node address autodetection method can be specified per-family",
    ]);
  });
});

describe("the CNI constructs take narrow props: usable without a plan, each prop reaching its field", () => {
  const { Testing, TerraformStack } = require("cdktf") as typeof import("cdktf");
  const { Flannel } = require("../constructs/flannel") as typeof import("../constructs/flannel");
  const { Calico } = require("../constructs/calico") as typeof import("../constructs/calico");
  const settings = planWith().config.kubernetes.cni;
  const synthOf = (add: (stack: InstanceType<typeof TerraformStack>) => void) => {
    const stack = new TerraformStack(Testing.app(), "cni");
    add(stack);
    return JSON.parse(Testing.synth(stack));
  };

  it("Flannel: the pod network, node subnet size and underlay MTU in net-conf.json; NAT and the interface in flanneld's arguments; another namespace", () => {
    const stack = synthOf((s) => new Flannel(s, "flannel", { podCidr: "10.99.0.0/16", nodeCidrMaskSize: 26, cni: { underlayMtu: 1400, natOutgoing: false, flannelInterface: { name: "ens19" } }, settings: settings.flannel, namespace: "net" }));
    expect(netConf(stack)).toMatchObject({ Network: "10.99.0.0/16", SubnetLen: 26, Backend: { Type: "vxlan", MTU: 1400 } });
    expect(flanneld(stack).args).toEqual(["--kube-subnet-mgr", "--healthz-port=8081", "--iface=ens19"]);
    expect(resourcesOf(stack, "kubernetes_namespace_v1")[0].metadata.name).toBe("net");
  });

  it("Flannel: the IPv6 pod network and node subnet size, when given, in net-conf.json", () => {
    const stack = synthOf((s) => new Flannel(s, "flannel", { podCidr: "10.99.0.0/16", nodeCidrMaskSize: 26, ipv6: { podCidr: "fd00:99::/56", nodeCidrMaskSize: 72 }, cni: { underlayMtu: 1400, natOutgoing: true, flannelInterface: { name: "ens19" } }, settings: settings.flannel }));
    expect(netConf(stack)).toMatchObject({ EnableIPv6: true, IPv6Network: "fd00:99::/56", IPv6SubnetLen: 72 });
    expect(flannelConfigProblems(netConf(stack))).toEqual([]);
  });

  it("Calico: the IPv6 pool and IPv6 autodetection, when given", () => {
    const stack = synthOf(
      (s) =>
        new Calico(s, "calico", {
          podCidr: "10.98.0.0/16",
          ipv6: { podCidr: "fd00:98::/56", blockSize: 120 },
          mtu: 1410,
          cni: { bgp: false, natOutgoing: true, calicoAutodetection: { cidrs: ["10.0.0.0/24"] }, calicoAutodetection6: { cidrs: ["fd00:10::/64"] } },
          settings: { blockSize: 27, encapsulation: "VXLAN" },
        }),
    );
    const network = resourcesOf(stack, "kubernetes_manifest")[0].manifest.spec.calicoNetwork;
    expect(network.nodeAddressAutodetectionV6).toEqual({ cidrs: ["fd00:10::/64"] });
    expect(network.ipPools[1]).toEqual({ name: "default-ipv6-ippool", cidr: "fd00:98::/56", blockSize: 120, encapsulation: "VXLAN", natOutgoing: "Enabled", nodeSelector: "all()" });
    expect(calicoNetworkProblems(network)).toEqual([]);
  });

  it("Calico: the pool, MTU, BGP, NAT and autodetection of the Installation come from its props", () => {
    const stack = synthOf((s) => new Calico(s, "calico", { podCidr: "10.98.0.0/16", mtu: 1410, cni: { bgp: true, natOutgoing: false, calicoAutodetection: { cidrs: ["10.0.0.0/24"] } }, settings: { blockSize: 27, encapsulation: "None" } }));
    const network = resourcesOf(stack, "kubernetes_manifest")[0].manifest.spec.calicoNetwork;
    expect(network).toEqual({
      bgp: "Enabled",
      mtu: 1410,
      nodeAddressAutodetectionV4: { cidrs: ["10.0.0.0/24"] },
      ipPools: [{ name: "default-ipv4-ippool", cidr: "10.98.0.0/16", blockSize: 27, encapsulation: "None", natOutgoing: "Disabled", nodeSelector: "all()" }],
    });
  });
});

describe("Cilium (alternative)", () => {
  const cilium = (settings: Record<string, unknown> = {}) => cniOf((c) => (c.kubernetes.cni = { plugin: "cilium", cilium: settings }));

  it("installs the pinned chart as a Helm release with this cluster's values, and neither Flannel nor Calico", () => {
    const stack = cilium();
    expect(Object.keys(stack.resource)).toEqual(["helm_release"]);
    const [release] = resourcesOf(stack, "helm_release");
    // The chart the values are checked against (cilium-values.test.ts), from Cilium's repository.
    expect(release).toMatchObject({ name: "cilium", chart: "cilium", repository: "https://helm.cilium.io/", version: CILIUM_CHART_VERSION, namespace: "kube-system" });
    expect(CILIUM_CHART_VERSION).toBe(CILIUM_VERSION.replace(/^v/, ""));
    // Waits for the agents and the operator, removes or rolls back what fails, longer than the provider's 300 s.
    expect(release).toMatchObject({ wait: true, atomic: true, timeout: 600 });
    expect(release.values).toHaveLength(1);
    expect(parse(release.values[0])).toEqual(ciliumHelmValues(planWith((c) => (c.kubernetes.cni = { plugin: "cilium", cilium: {} }))));
    expect(parse(release.values[0])).toMatchObject({ routingMode: "tunnel", tunnelProtocol: "vxlan", MTU: 1500, ipam: { mode: "kubernetes" }, k8sServiceHost: "10.0.0.10", k8sServicePort: 6443 });
    expect(stack.output.mtu_chain.value).toEqual({ underlay: 1500, vm_nic: 1500, encapsulation: "vxlan", overhead: 50, overlay: 1450 });
  });

  it("configures the helm provider from the same kubeconfig variables, read at plan time, and embeds no credentials", () => {
    const stack = cilium();
    // hashicorp/helm 3.x: `kubernetes` is a nested attribute (an object), not a block.
    expect(stack.provider.helm).toEqual([{ kubernetes: stack.provider.kubernetes[0] }]);
    expect(stack.provider.helm[0].kubernetes).toEqual({ config_path: "${var.kubeconfig_path}", config_context: "${(length(var.kubeconfig_context) < 1) ? null : var.kubeconfig_context}" });
    expect(stack.terraform.required_providers.helm).toEqual({ source: "helm", version: "3.1.1" });
    expect(JSON.stringify(stack)).not.toMatch(/client_key|client_certificate|token|password/i);
    // Flannel's and Calico's stacks need no helm provider.
    expect(cniOf().provider.helm).toBeUndefined();
    expect(cniOf((c) => (c.kubernetes.cni.plugin = "calico")).provider.helm).toBeUndefined();
  });

  it("starts kube-vip-cloud-provider after the release: its pod needs the pod network (and, with kube-proxy replaced, Cilium for the API service)", () => {
    const stack = cniOf((c) => ((c.kubernetes.cni = { plugin: "cilium", cilium: { kubeProxyReplacement: true } }), (c.kubernetes.loadBalancer = { addresses: ["192.168.0.200"] })));
    const [id] = Object.keys(stack.resource.helm_release);
    expect(resourcesOf(stack, "kubernetes_deployment_v1")[0].depends_on).toEqual([`helm_release.${id}`]);
    // The RBAC and the pool's config map need no pods: they go alongside.
    expect(resourcesOf(stack, "kubernetes_config_map_v1")[0].depends_on).toBeUndefined();
    // Flannel: created alongside, as before.
    expect(resourcesOf(cniOf((c) => (c.kubernetes.loadBalancer = { addresses: ["192.168.0.200"] })), "kubernetes_deployment_v1")[0].depends_on).toBeUndefined();
  });

  it("states Geneve and native routing in the MTU chain as Cilium's MTU code has them", () => {
    expect(cilium({ tunnelProtocol: "geneve" }).output.mtu_chain.value).toMatchObject({ encapsulation: "geneve", overhead: 50, overlay: 1450 });
    expect(cilium({ routingMode: "native" }).output.mtu_chain.value).toMatchObject({ encapsulation: "none", overhead: 0, overlay: 1500 });
  });
});
