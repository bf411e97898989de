/**
 * Dual-stack network-data snippets (issue 22 item 1) through cloud-init itself, as
 * cloud-init.test.ts does for IPv4: `cloud-init devel net-convert` renders the snippet of
 * examples/dual-stack.yaml for every renderer (netplan, ENI, networkd, sysconfig,
 * NetworkManager), by the machine's cloud-init (Debian 12) and by Debian 13's, and each result
 * must carry both families' addresses and exactly one default route of each family, via the
 * external NIC; Debian 13's cloud-init also checks the snippet against its network-config schema.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { renderNetworkData } from "../renderers/cloud-init";
import { planFrom } from "./helpers";
import { debian13Available, debian13CloudInitSchema } from "./judges/debian13";
import { netConverters, type Convert } from "./judges/net-convert";
import { hasTool } from "./lab/tools";

const available = hasTool("cloud-init", "cloud-init");
const work = mkdtempSync(path.join(tmpdir(), "pvdn-cloud-init6-"));

const { convert, convert13 } = netConverters(work);

const dual = planFrom("examples/dual-stack.yaml", (c) => (c.vmDefaults.cloudInit = { ...c.vmDefaults.cloudInit, networkData: { enabled: true } }));
const vm = dual.vms[0]!;
const yaml = renderNetworkData(vm, dual.dns);

/** Each renderer's output: both families on each NIC, one default route per family on eth0 only. */
const renderers: [string, string, (text: string) => void][] = [
  ["netplan", "ubuntu", (t) => {
    const { ethernets } = parse(t.slice(t.indexOf("\n") + 1)).network;
    expect(ethernets.eth0.addresses).toEqual(["192.168.0.11/24", "fd00:192:168::11/64"]);
    expect(ethernets.eth1.addresses).toEqual(["10.0.0.11/24", "fd00:10::11/64"]);
    expect(ethernets.eth0.routes).toEqual([{ to: "0.0.0.0/0", via: "192.168.0.1" }]);
    expect(ethernets.eth0.gateway6).toBe("fd00:192:168::1");
    expect(ethernets.eth1.gateway6).toBeUndefined();
    expect(ethernets.eth1.routes).toBeUndefined();
    expect(ethernets.eth0.nameservers.addresses).toEqual(["192.168.0.1", "fd00:192:168::1"]);
  }],
  ["eni", "debian", (t) => {
    const stanza = (n: string) => t.split(`iface ${n} inet6 static`)[1]!.split(/\n(auto|#) /)[0]!;
    expect(stanza("eth0")).toMatch(/address fd00:192:168::11\/64\n\s+gateway fd00:192:168::1/);
    expect(stanza("eth1")).toMatch(/address fd00:10::11\/64/);
    expect(stanza("eth1")).not.toMatch(/gateway/);
    expect(t.match(/route add default gw/g)).toHaveLength(1);
    expect(t).not.toMatch(/::\/64 gw/);
  }],
  ["networkd", "debian", (t) => {
    const unit = (n: string) => t.split(`10-cloud-init-${n}.network`)[1]!.split("==>")[0]!;
    expect(unit("eth0")).toMatch(/Address=fd00:192:168::11\/64/);
    // networkd: a [Route] with Gateway= and no Destination= is the default route.
    expect(unit("eth0")).toMatch(/\[Route\]\nGateway=fd00:192:168::1\n/);
    expect(unit("eth0")).not.toMatch(/Destination=::/);
    expect(unit("eth1")).toMatch(/Address=fd00:10::11\/64/);
    expect(unit("eth1")).not.toMatch(/Gateway=/);
  }],
  ["sysconfig", "rhel", (t) => {
    const ifcfg = (n: string) => t.split(`ifcfg-${n}\n`)[1]!.split("==>")[0]!;
    expect(ifcfg("eth0")).toMatch(/IPV6ADDR=fd00:192:168::11\/64/);
    expect(ifcfg("eth0")).toMatch(/IPV6_DEFAULTGW=fd00:192:168::1/);
    expect(t).not.toMatch(/::\/64 via/);
    expect(ifcfg("eth1")).toMatch(/IPV6ADDR=fd00:10::11\/64/);
    expect(ifcfg("eth1")).not.toMatch(/IPV6_DEFAULTGW|GATEWAY/);
  }],
  ["network-manager", "rhel", (t) => {
    const conn = (n: string) => t.split(`cloud-init-${n}.nmconnection`)[1]!.split("==>")[0]!;
    expect(conn("eth0")).toMatch(/\[ipv6\][\s\S]*address1=fd00:192:168::11\/64/);
    expect(conn("eth0").split("[ipv6]")[1]).toMatch(/gateway=fd00:192:168::1/);
    expect(conn("eth0")).not.toMatch(/::\/64,/);
    expect(conn("eth1")).toMatch(/address1=fd00:10::11\/64/);
    expect(conn("eth1")).not.toMatch(/gateway=|::\/0/);
  }],
];

const bases: [string, boolean, Convert][] = [
  ["Debian 12", available, convert],
  ["Debian 13", debian13Available(), convert13],
];

describe.each(bases)("dual-stack network-data through cloud-init of %s", (base, runs, convertBy) => {
  (runs ? it.concurrent.each : it.concurrent.skip.each)(renderers)("renders for %s (%s): both families, one default route each via eth0", async (output, distro, check) => {
    const text = await convertBy(yaml, `${base}-dual`.replace(/\W+/g, "-"), output, distro);
    for (const ip of ["192.168.0.11", "10.0.0.11", "fd00:192:168::11", "fd00:10::11"]) expect(text).toContain(ip);
    check(text);
  });
});

describe("dual-stack network-data", () => {
  it("is the IPv4 snippet plus the IPv6 addresses and default route", () => {
    const nics = vm.nics.map((nic) => {
      const copy: any = { ...nic };
      for (const key of ["ip6", "prefix6", "gateway6"]) delete copy[key];
      return copy;
    });
    const ipv4Only = renderNetworkData({ ...vm, nics: nics as any }, { ...dual.dns, servers: ["192.168.0.1"] });
    expect(parse(ipv4Only).ethernets.eth0).not.toHaveProperty("gateway6");
    expect(parse(ipv4Only).ethernets.eth1.addresses).toEqual(["10.0.0.11/24"]);
  });

  (debian13Available() ? it : it.skip)("passes Debian 13's `cloud-init schema --schema-type network-config`", async () => {
    const result = await debian13CloudInitSchema(yaml);
    expect(`${result.stdout}${result.stderr}`).toMatch(/Valid schema/);
    expect(result.status).toBe(0);
  });
});
