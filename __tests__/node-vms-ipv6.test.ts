/**
 * The node VMs with dual-stack (issue 22 item 1): bpg's initialization.ip_config[].ipv6 beside
 * ipv4, one per NIC in NIC order, the IPv6 gateway on the external NIC only, and the IPv6 DNS
 * servers. Terraform validates and plans these resources against bpg/proxmox v0.111.1's schema
 * (terraform.test.ts, the dual-stack variant); cloud-init's converter judges the network-data
 * snippets (cloud-init-ipv6.test.ts).
 */
import { planFrom, planWith, resourcesOf } from "./helpers";
import { synthAll } from "./synth";

const vmOf = (stack: any, name: string) => resourcesOf(stack, "proxmox_virtual_environment_vm").find((vm) => vm.name === name);

describe("node VMs with dual-stack", () => {
  const vms = synthAll(planFrom("examples/dual-stack.yaml")).vms;

  it("give each NIC its IPv6 address in CIDR form, and only the external NIC the IPv6 gateway", () => {
    expect(vmOf(vms, "master-1").initialization.ip_config).toEqual([
      { ipv4: { address: "192.168.0.11/24", gateway: "192.168.0.1" }, ipv6: { address: "fd00:192:168::11/64", gateway: "fd00:192:168::1" } },
      { ipv4: { address: "10.0.0.11/24" }, ipv6: { address: "fd00:10::11/64" } },
    ]);
  });

  it("write the planned (canonical) IPv6 text, not the description's spelling", () => {
    const stack = synthAll(planFrom("examples/dual-stack.yaml", (c) => (c.vms[3].ip.internal6 = "FD00:10:0:0::0014"))).vms;
    expect(vmOf(stack, "app-worker").initialization.ip_config[1].ipv6).toEqual({ address: "fd00:10::14/64" });
  });

  it("pass the IPv6 DNS servers with the IPv4 ones", () => {
    expect(vmOf(vms, "master-1").initialization.dns.servers).toEqual(["192.168.0.1", "fd00:192:168::1"]);
  });

  it("keep IPv4-only ip_config without IPv6", () => {
    const ipv4 = synthAll(planWith()).vms;
    for (const ip of vmOf(ipv4, "master-1").initialization.ip_config) expect(Object.keys(ip)).toEqual(["ipv4"]);
  });
});

describe("the dual-stack plan", () => {
  it("warns of nothing IPv6 left unrendered: host inet6 stanzas, VM ip_config.ipv6 and IPv6 firewall rules are written", () => {
    expect(planFrom("examples/dual-stack.yaml").warnings.filter((w) => w.includes("IPv6"))).toEqual([]);
  });
});
