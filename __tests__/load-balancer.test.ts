/**
 * LoadBalancer services on the external network (kubernetes.loadBalancer): the pool's checks,
 * the plan, kube-vip serving the services on the external NIC, kube-vip-cloud-provider in the cni
 * stack, and the firewall admitting the services' ports to the pool.
 */
import { parse } from "yaml";
import { formatAddressRange, ipv4ToNumber, parseAddressRange, rangeToCidrs } from "../config/ip";
import { renderKubeVipManifest } from "../renderers/kube-vip";
import { renderGroupVars } from "../renderers/node-setup";
import { renderReport } from "../renderers/report";
import { addressLists, firewallRules } from "../renderers/firewall";
import { issuesOf, planWith, resourcesOf } from "./helpers";
import { synthAll } from "./synth";

const POOL = { addresses: ["192.168.0.200-192.168.0.220"], ports: [{ protocol: "tcp", ports: "80,443" }] };
const withPool = (pool: object = POOL) => (c: any) => (c.kubernetes.loadBalancer = pool);
/** The example with one control plane and its worker: no API VIP. */
const oneControlPlane = (c: any) => (c.vms = c.vms.filter((vm: any) => vm.name !== "master-2" && vm.name !== "master-3"));
const envOf = (manifest: string) => Object.fromEntries(parse(manifest).spec.containers[0].env.filter((e: any) => "value" in e).map((e: any) => [e.name, e.value]));

describe("address ranges", () => {
  it("reads an address, a range and a network", () => {
    expect(parseAddressRange("192.168.0.230")).toEqual({ first: ipv4ToNumber("192.168.0.230"), last: ipv4ToNumber("192.168.0.230") });
    expect(parseAddressRange("192.168.0.200-192.168.0.220")).toEqual({ first: ipv4ToNumber("192.168.0.200"), last: ipv4ToNumber("192.168.0.220") });
    expect(parseAddressRange("192.168.0.224/28")).toEqual({ first: ipv4ToNumber("192.168.0.224"), last: ipv4ToNumber("192.168.0.239") });
    expect(parseAddressRange("192.168.0.256")).toBeUndefined();
    expect(parseAddressRange("192.168.0.0/33")).toBeUndefined();
  });

  it("covers a range with exactly its addresses, in the fewest networks", () => {
    expect(rangeToCidrs(parseAddressRange("192.168.0.200-192.168.0.220")!)).toEqual(["192.168.0.200/29", "192.168.0.208/29", "192.168.0.216/30", "192.168.0.220"]);
    expect(rangeToCidrs(parseAddressRange("10.0.0.0/8")!)).toEqual(["10.0.0.0/8"]);
    expect(rangeToCidrs(parseAddressRange("0.0.0.0-255.255.255.255")!)).toEqual(["0.0.0.0/0"]);
    // Every range of a /24's worth of starts and ends: the networks are aligned, disjoint, in order, and cover it.
    for (let first = 0; first < 256; first += 7) {
      for (let last = first; last < 300; last += 13) {
        const range = { first: 3232235520 + first, last: 3232235520 + last };
        let next = range.first;
        for (const cidr of rangeToCidrs(range)) {
          const block = parseAddressRange(cidr)!;
          expect([formatAddressRange(range), cidr, block.first]).toEqual([formatAddressRange(range), cidr, next]);
          next = block.last + 1;
        }
        expect(next).toBe(range.last + 1);
      }
    }
  });

  it("splits destination lists at pve-firewall's 512 characters", () => {
    const cidrs = Array.from({ length: 60 }, (_, i) => `192.168.${i}.0/25`);
    const lists = addressLists(cidrs);
    expect(lists.length).toBeGreaterThan(1);
    expect(lists.every((l) => l.length <= 512)).toBe(true);
    expect(lists.join(",")).toBe(cidrs.join(","));
  });
});

describe("the pool is checked against the external network", () => {
  const at = (i: number) => `kubernetes.loadBalancer.addresses[${i}]`;
  const issuesFor = (...addresses: string[]) => issuesOf(withPool({ addresses })).filter((i) => i.path.startsWith("kubernetes.loadBalancer"));

  it("accepts free addresses of the external network", () => {
    expect(planWith(withPool()).loadBalancer).toEqual({
      ranges: ["192.168.0.200-192.168.0.220"],
      cidrs: ["192.168.0.200/29", "192.168.0.208/29", "192.168.0.216/30", "192.168.0.220"],
      size: 21,
      ports: [{ protocol: "tcp", ports: "80,443", source: "192.168.0.0/24" }],
      cloudProviderImage: "ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.12",
    });
    // In address order, whatever the order written.
    expect(planWith(withPool({ addresses: ["192.168.0.240/29", "192.168.0.230", "192.168.0.100-192.168.0.101"] })).loadBalancer!.ranges).toEqual(["192.168.0.100-192.168.0.101", "192.168.0.230", "192.168.0.240-192.168.0.247"]);
  });

  it("is off without the field: no pool in the plan, no kube-vip services, no cloud provider", () => {
    const plan = planWith();
    expect(plan.loadBalancer).toBeUndefined();
    expect(renderKubeVipManifest(plan)).not.toMatch(/svc_enable|servicesinterface|k8s_external_interface/);
    expect(renderGroupVars(plan)).not.toMatch(/k8s_kube_vip_services/);
    expect(Object.keys(synthAll(plan).cni.resource)).not.toContain("kubernetes_deployment_v1");
  });

  it("refuses every bad entry at once, naming it and the fix", () => {
    const issues = issuesFor(
      "10.0.0.200-10.0.0.210", // the internal network
      "192.168.0.250-192.168.0.255", // the broadcast address
      "192.168.0.10-192.168.0.20", // master-1..3 and the worker
      "192.168.0.1", // the gateway
      "192.168.0.60-192.168.0.50", // backwards
      "192.168.0.33/27", // host bits
      "192.168.0.300", // not an address
      "192.168.0.200-192.168.0.210",
      "192.168.0.205", // overlaps the entry before
    );
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      [at(0), "10.0.0.200-10.0.0.210 is not inside the external network 192.168.0.0/24: kube-vip announces the pool on the external NIC"],
      [at(1), "192.168.0.250-192.168.0.255 includes 192.168.0.255, the network or broadcast address of 192.168.0.0/24"],
      [at(2), "192.168.0.10-192.168.0.20 includes 4 addresses in use: 192.168.0.11 of vms[0].ip.external (master-1), 192.168.0.12 of vms[1].ip.external (master-2), 192.168.0.13 of vms[2].ip.external (master-3), ..."],
      [at(3), "192.168.0.1 is already used by networks.external.gateway"],
      [at(4), "192.168.0.60-192.168.0.50 runs backwards"],
      [at(5), "192.168.0.33/27 has host bits set"],
      [at(6), "192.168.0.300 is not an IPv4 address, range or network"],
      [at(8), "192.168.0.205 overlaps kubernetes.loadBalancer.addresses[7] (192.168.0.200-192.168.0.210)"],
    ]);
    expect(issues.every((i) => i.fix)).toBe(true);
    expect(issues.find((i) => i.path === at(1))!.fix).toBe("leave it out, e.g. 192.168.0.250-192.168.0.254");
    expect(issues.find((i) => i.path === at(4))!.fix).toBe("write the lower address first: 192.168.0.50-192.168.0.60");
  });

  it("refuses a Proxmox host's address and a pool of more than half the network", () => {
    expect(issuesFor("192.168.0.2-192.168.0.3").map((i) => i.message)).toEqual(["192.168.0.2-192.168.0.3 includes an address in use: 192.168.0.2 of Proxmox node pve (vmbr0)"]);
    expect(issuesFor("192.168.0.100-192.168.0.254").map((i) => [i.path, i.message])).toEqual([
      ["kubernetes.loadBalancer.addresses", "the pool holds 155 addresses, more than half of the 254 host addresses of the external network 192.168.0.0/24"],
    ]);
  });

  it("refuses a malformed entry, an empty pool and a bad port at the schema", () => {
    const paths = (pool: object) => issuesOf(withPool(pool)).map((i) => i.path);
    expect(paths({ addresses: ["192.168.0.200 - 192.168.0.210"] })).toEqual([at(0)]);
    expect(paths({ addresses: [] })).toEqual(["kubernetes.loadBalancer.addresses"]);
    expect(paths({ addresses: ["192.168.0.200"], ports: [{ protocol: "tcp", ports: "0" }] })).toEqual(["kubernetes.loadBalancer.ports[0].ports"]);
    expect(paths({ addresses: ["192.168.0.200"], ports: [{ protocol: "tcp", ports: "80", from: "internal" }] })).toEqual(["kubernetes.loadBalancer.ports[0].from"]);
  });
});

describe("kube-vip serves the pool on the external NIC", () => {
  it("with an API VIP: the same pod, services on the external NIC under their own lease", () => {
    const env = envOf(renderKubeVipManifest(planWith(withPool()))!);
    expect(env).toMatchObject({
      address: "10.0.0.10",
      cp_enable: "true",
      vip_interface: "{{ k8s_internal_interface }}",
      vip_servicesinterface: "{{ k8s_external_interface }}",
      svc_enable: "true",
      svc_leasename: "plndr-svcs-lock",
      vip_leasename: "plndr-cp-lock",
      vip_subnet: "32",
    });
    expect(env.svc_election).toBeUndefined();
  });

  it("without an API VIP (one control plane): for the services alone", () => {
    expect(renderKubeVipManifest(planWith(oneControlPlane))).toBeUndefined();
    const manifest = renderKubeVipManifest(planWith((c) => (oneControlPlane(c), withPool()(c))))!;
    const env = envOf(manifest);
    expect(env).toEqual({
      vip_arp: "true",
      vip_interface: "{{ k8s_external_interface }}",
      vip_servicesinterface: "{{ k8s_external_interface }}",
      vip_subnet: "32",
      svc_enable: "true",
      svc_leasename: "plndr-svcs-lock",
      vip_leaderelection: "true",
      vip_leaseduration: "15",
      vip_renewdeadline: "10",
      vip_retryperiod: "2",
    });
    expect(manifest).not.toMatch(/k8s_internal_interface|cp_enable|address/);
  });

  it("tells the playbook to run kube-vip for the services", () => {
    expect(renderGroupVars(planWith(withPool()))).toMatch(/^k8s_kube_vip_services: true$/m);
  });
});

describe("kube-vip-cloud-provider in the cni stack", () => {
  const cni = synthAll(planWith(withPool({ ...POOL, addresses: ["192.168.0.230", "192.168.0.200-192.168.0.220"] }))).cni;

  it("reads the pool from the kubevip ConfigMap, every range for every namespace", () => {
    const configMap = resourcesOf(cni, "kubernetes_config_map_v1").find((c: any) => c.metadata.name === "kubevip");
    expect(configMap.metadata).toEqual({ name: "kubevip", namespace: "kube-system" });
    expect(configMap.data).toEqual({ "range-global": "192.168.0.200-192.168.0.220,192.168.0.230" });
  });

  it("runs the pinned image as the upstream v0.0.12 manifest does, with its RBAC", () => {
    const [deployment] = resourcesOf(cni, "kubernetes_deployment_v1");
    const container = deployment.spec.template.spec.container[0];
    expect(container).toMatchObject({
      image: "ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.12",
      image_pull_policy: "IfNotPresent",
      command: ["/kube-vip-cloud-provider", "--leader-elect-resource-name=kube-vip-cloud-controller"],
    });
    expect(deployment.spec.template.spec.service_account_name).toMatch(/kubernetes_service_account_v1\.kube-vip-cloud-provider_service-account_[0-9A-F]+\.metadata\[0\]\.name/);
    const role = resourcesOf(cni, "kubernetes_cluster_role_v1").find((r: any) => r.metadata.name === "system:kube-vip-cloud-controller-role");
    expect(role.rule.map((r: any) => r.resources)).toEqual([["leases"], ["configmaps", "endpoints", "events", "services/status", "leases"], ["nodes", "services"]]);
    expect(resourcesOf(cni, "kubernetes_cluster_role_binding_v1").map((b: any) => b.metadata.name)).toContain("system:kube-vip-cloud-controller-binding");
  });
});

describe("the firewall admits the services' ports to the pool", () => {
  const plan = planWith(withPool({ ...POOL, ports: [...POOL.ports, { protocol: "udp", ports: "53", from: "0.0.0.0/0" }] }));

  it("on the control planes' external NIC, to the pool's addresses only", () => {
    const lb = firewallRules(plan, "control-plane").filter((r) => r.dest);
    expect(lb).toEqual([
      { iface: "net0", proto: "tcp", dport: "80,443", source: "192.168.0.0/24", dest: "192.168.0.200/29,192.168.0.208/29,192.168.0.216/30,192.168.0.220", comment: "LoadBalancer services (kubernetes.loadBalancer)" },
      { iface: "net0", proto: "udp", dport: "53", source: "0.0.0.0/0", dest: "192.168.0.200/29,192.168.0.208/29,192.168.0.216/30,192.168.0.220", comment: "LoadBalancer services (kubernetes.loadBalancer)" },
    ]);
    expect(firewallRules(plan, "worker").filter((r) => r.dest)).toEqual([]);
    expect(firewallRules(planWith(), "control-plane").filter((r) => r.dest)).toEqual([]);
  });

  it("in the security group, with the IP filter off so ARP and packets for the pool pass", () => {
    const vms = synthAll(plan).vms;
    const group = resourcesOf(vms, "proxmox_virtual_environment_cluster_firewall_security_group").find((g: any) => g.name.endsWith("-cp"));
    expect(group.rule.filter((r: any) => r.dest)).toHaveLength(2);
    for (const options of resourcesOf(vms, "proxmox_virtual_environment_firewall_options")) expect(options.ipfilter).toBe(false);
    expect(resourcesOf(vms, "proxmox_virtual_environment_firewall_ipset")).toEqual([]);
  });

  it("warns when no port is listed while the firewall is on", () => {
    const warned = (edit: (c: any) => void) => planWith(edit).warnings.filter((w) => w.startsWith("kubernetes.loadBalancer lists no ports"));
    expect(warned(withPool({ addresses: ["192.168.0.200"] }))).toHaveLength(1);
    expect(warned(withPool())).toEqual([]);
    expect(warned((c) => (withPool({ addresses: ["192.168.0.200"] })(c), (c.firewall = { enabled: false })))).toEqual([]);
  });

  it("shows the pool and its rules in the report", () => {
    const report = renderReport(plan, "text");
    expect(report).toMatch(/LoadBalancer services +192\.168\.0\.200-192\.168\.0\.220 \(21 addresses\), held by kube-vip on the control planes' external NIC/);
    expect(report).toMatch(/net0 tcp 80,443 from 192\.168\.0\.0\/24 to 192\.168\.0\.200\/29,/);
  });
});
