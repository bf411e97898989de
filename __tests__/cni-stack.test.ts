import { parse } from "yaml";
import { planWith, resourcesOf } from "./helpers";
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

  it("writes its Helm values next to the state and installs neither Flannel nor Calico", () => {
    const stack = cilium();
    const [file] = resourcesOf(stack, "local_file");
    expect(file.filename).toBe("../../../generated/cilium/values.yaml");
    expect(parse(file.content)).toMatchObject({ routingMode: "tunnel", tunnelProtocol: "vxlan", MTU: 1500, ipam: { mode: "kubernetes" }, k8sServiceHost: "10.0.0.10", k8sServicePort: 6443 });
    expect(Object.keys(stack.resource)).toEqual(["local_file"]);
    expect(stack.output.mtu_chain.value).toEqual({ underlay: 1500, vm_nic: 1500, encapsulation: "vxlan", overhead: 50, overlay: 1450 });
  });

  it("states Geneve and native routing in the MTU chain as Cilium's MTU code has them", () => {
    expect(cilium({ tunnelProtocol: "geneve" }).output.mtu_chain.value).toMatchObject({ encapsulation: "geneve", overhead: 50, overlay: 1450 });
    expect(cilium({ routingMode: "native" }).output.mtu_chain.value).toMatchObject({ encapsulation: "none", overhead: 0, overlay: 1500 });
  });
});
