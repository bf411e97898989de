/**
 * The network-data snippets through cloud-init itself: `cloud-init devel net-convert` renders
 * them the way a guest would at boot, for netplan (Ubuntu), ENI and networkd (Debian), sysconfig
 * and NetworkManager (RHEL family). Each result must give the guest its two addresses and MTUs and
 * exactly one default route, via the external NIC. Twice: by the machine's cloud-init (Debian 12,
 * 22.4) and by Debian 13's (Proxmox VE 9's base; __tests__/judges/debian13.ts), which also checks
 * them against its network-config schema.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { renderNetworkData } from "../renderers/cloud-init";
import { planWith } from "./helpers";
import { debian13Available, debian13CloudInitSchema } from "./judges/debian13";
import { netConverters, type Convert } from "./judges/net-convert";
import { judged, judgedSync } from "./lab/judged";
import { hasTool, runTool } from "./lab/tools";

const available = hasTool("cloud-init", "cloud-init");
const work = mkdtempSync(path.join(tmpdir(), "pvdn-cloud-init-"));

const { convert, convert13 } = netConverters(work);

const example = planWith((c) => (c.vmDefaults.cloudInit.networkData = { enabled: true }));
const jumbo = planWith((c) => {
  c.vmDefaults.cloudInit.networkData = { enabled: true, interfaceNames: ["mgmt0", "k8s0"] };
  c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true };
  c.networks.external.searchDomain = "lab.example";
});

/** What each renderer must show for the first control plane: [output, distro, checks on the text]. */
const renderers: [string, string, (text: string, e: { ext: string; int: string; mtu: number }) => void][] = [
  ["netplan", "ubuntu", (t, e) => {
    const { ethernets } = parse(t.slice(t.indexOf("\n") + 1)).network;
    expect(ethernets[e.ext].routes).toEqual([{ to: "0.0.0.0/0", via: "192.168.0.1" }]);
    expect(ethernets[e.int].routes).toBeUndefined();
    expect(ethernets[e.int].mtu).toBe(e.mtu);
  }],
  ["eni", "debian", (t, e) => {
    const stanza = (n: string) => t.split(`iface ${n} inet static`)[1]!.split(/\nauto /)[0]!;
    expect(stanza(e.ext)).toMatch(/route add default gw 192\.168\.0\.1/);
    expect(stanza(e.int)).not.toMatch(/gw|gateway/);
    expect(stanza(e.int)).toMatch(new RegExp(`mtu ${e.mtu}`));
    expect(t.match(/route add default/g)).toHaveLength(1);
  }],
  ["networkd", "debian", (t, e) => {
    const unit = (n: string) => t.split(`10-cloud-init-${n}.network`)[1]!.split("==>")[0]!;
    expect(unit(e.ext)).toMatch(/Destination=0\.0\.0\.0\/0\s+Gateway=192\.168\.0\.1/);
    expect(unit(e.int)).not.toMatch(/Gateway=/);
    expect(unit(e.int)).toMatch(new RegExp(`MTUBytes=${e.mtu}`));
  }],
  ["sysconfig", "rhel", (t, e) => {
    const ifcfg = (n: string) => t.split(`ifcfg-${n}\n`)[1]!.split("==>")[0]!;
    expect(ifcfg(e.ext)).toMatch(/GATEWAY=192\.168\.0\.1/);
    expect(ifcfg(e.int)).not.toMatch(/GATEWAY|DEFROUTE=yes/);
    expect(ifcfg(e.int)).toMatch(new RegExp(`MTU=${e.mtu}`));
  }],
  ["network-manager", "rhel", (t, e) => {
    const conn = (n: string) => t.split(`cloud-init-${n}.nmconnection`)[1]!.split("==>")[0]!;
    expect(conn(e.ext)).toMatch(/gateway=192\.168\.0\.1|route1=0\.0\.0\.0\/0,192\.168\.0\.1/);
    expect(conn(e.int)).not.toMatch(/gateway=|0\.0\.0\.0\/0/);
    expect(conn(e.int)).toMatch(new RegExp(`mtu=${e.mtu}`));
  }],
];

/** The same checks by each base's cloud-init: [base, whether it runs here, its converter]. */
const bases: [string, boolean, Convert][] = [
  ["Debian 12", available, convert],
  ["Debian 13", debian13Available(), convert13],
];

describe.each(bases)("network-data snippets through cloud-init of %s", (base, runs, convertBy) => {
  (runs ? describe : describe.skip)("net-convert", () => {
    // Every renderer for the example; the variant's names, MTU and search domain through two of them.
    describe.each([
      ["built-in example", example, { ext: "eth0", int: "eth1", mtu: 1500 }, renderers],
      ["jumbo frames, custom names, search domain", jumbo, { ext: "mgmt0", int: "k8s0", mtu: 9000 }, renderers.filter(([o]) => o === "netplan" || o === "sysconfig")],
    ] as const)("%s", (name, plan, expected, selected) => {
      const yaml = renderNetworkData(plan.vms[0]!, plan.dns);
      it.concurrent.each(selected)("renders for %s (%s): two addresses, MTUs, one default route via the external NIC", async (output, distro, check) => {
        const text = await convertBy(yaml, `${base}-${name}`.replace(/\W+/g, "-"), output, distro);
        expect(text).toContain("192.168.0.11");
        expect(text).toContain("10.0.0.11");
        check(text, expected);
      });
    });

    it("would reject the netplan-only `to: default` (the check can fail)", async () => {
      const yaml = renderNetworkData(example.vms[0]!, example.dns).replace("to: 0.0.0.0/0", "to: default");
      await expect(convertBy(yaml, `${base}-broken`.replace(/\W+/g, "-"), "eni", "debian")).rejects.toThrow(/Address default is not a valid ip address/);
    });
  });
});

describe("network-data snippets against cloud-init's network-config schema", () => {
  // cloud-init learned to validate network-config (--schema-type) after Debian 12's 22.4.
  const schemaChecksNetwork = available && /network-config/.test(judgedSync({ judge: "cloud-init schema --help" }, () => spawnSync("cloud-init", ["schema", "--help"], { encoding: "utf8" })).stdout);
  (schemaChecksNetwork ? it : it.skip)("passes `cloud-init schema --schema-type network-config` (Debian 12)", async () => {
    const file = path.join(work, "schema.yaml");
    const text = renderNetworkData(jumbo.vms[0]!, jumbo.dns);
    writeFileSync(file, text);
    const result = await judged({ judge: "cloud-init schema --schema-type network-config", texts: { config: text } }, () =>
      runTool("cloud-init", ["schema", "--schema-type", "network-config", "--config-file", file]),
    );
    expect(`${result.stdout}${result.stderr}`).toMatch(/Valid schema/);
    expect(result.status).toBe(0);
  });

  const withDebian13 = debian13Available() ? it.concurrent : it.concurrent.skip;
  withDebian13.each([
    ["built-in example", example],
    ["jumbo frames, custom names, search domain", jumbo],
  ] as const)("%s passes Debian 13's `cloud-init schema --schema-type network-config`", async (_name, plan) => {
    const result = await debian13CloudInitSchema(renderNetworkData(plan.vms[0]!, plan.dns));
    expect(`${result.stdout}${result.stderr}`).toMatch(/Valid schema/);
    expect(result.status).toBe(0);
  });

  withDebian13.each([
    ["a misspelt top-level key", (y: string) => y.replace(/^ethernets:/m, "ethernet:"), /'ethernet' was unexpected/],
    ["an invalid value", (y: string) => y.replace(/^( +)set-name: eth1$/m, "$1set-name: eth1\n$1dhcp4: sometimes"), /dhcp4: 'sometimes' is not one of/],
  ] as const)("Debian 13's schema check rejects %s (the check can fail)", async (_name, breakIt, error) => {
    const yaml = renderNetworkData(example.vms[0]!, example.dns);
    const broken = breakIt(yaml);
    expect(broken).not.toBe(yaml);
    const result = await debian13CloudInitSchema(broken);
    expect(result.stderr).toMatch(error);
    expect(result.status).not.toBe(0);
  });
});
