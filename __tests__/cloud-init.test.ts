/**
 * The network-data snippets through cloud-init itself: `cloud-init devel net-convert` renders
 * them the way a guest would at boot, for netplan (Ubuntu), ENI and networkd (Debian), sysconfig
 * and NetworkManager (RHEL family). Each result must give the guest its two addresses and MTUs and
 * exactly one default route, via the external NIC.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { renderNetworkData } from "../renderers/cloud-init";
import { planWith } from "./helpers";
import { judged, judgedSync } from "./lab/judged";
import { hasTool, runTool } from "./lab/tools";

const available = hasTool("cloud-init", "cloud-init");
const work = mkdtempSync(path.join(tmpdir(), "pvdn-cloud-init-"));

/** Every file under a directory, as one text with file headers. */
function tree(dir: string): string {
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((n) => (statSync(path.join(d, n)).isDirectory() ? walk(path.join(d, n)) : [path.join(d, n)]));
  return walk(dir)
    .sort()
    .map((f) => `==> ${path.relative(dir, f)}\n${readFileSync(f, "utf8")}`)
    .join("\n");
}

async function convert(yaml: string, name: string, output: string, distro: string): Promise<string> {
  const input = path.join(work, `${name}.yaml`);
  writeFileSync(input, yaml);
  const out = path.join(work, `${name}-${output}`);
  const result = await judged({ judge: `cloud-init devel net-convert -k yaml -D ${distro} -O ${output}`, texts: { "network-config": yaml }, outputs: out }, () =>
    runTool("cloud-init", ["devel", "net-convert", "-p", input, "-k", "yaml", "-d", out, "-D", distro, "-O", output]),
  );
  if (result.status !== 0) throw new Error(`cloud-init net-convert -O ${output} failed:\n${result.stderr}`);
  return tree(out);
}

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

(available ? describe : describe.skip)("network-data snippets through cloud-init", () => {
  // Every renderer for the example; the variant's names, MTU and search domain through two of them.
  describe.each([
    ["built-in example", example, { ext: "eth0", int: "eth1", mtu: 1500 }, renderers],
    ["jumbo frames, custom names, search domain", jumbo, { ext: "mgmt0", int: "k8s0", mtu: 9000 }, renderers.filter(([o]) => o === "netplan" || o === "sysconfig")],
  ] as const)("%s", (name, plan, expected, selected) => {
    const yaml = renderNetworkData(plan.vms[0]!, plan.config.networks);
    it.concurrent.each(selected)("renders for %s (%s): two addresses, MTUs, one default route via the external NIC", async (output, distro, check) => {
      const text = await convert(yaml, name.replace(/\W+/g, "-"), output, distro);
      expect(text).toContain("192.168.0.11");
      expect(text).toContain("10.0.0.11");
      check(text, expected);
    });
  });

  // cloud-init learned to validate network-config (--schema-type) after Debian 12's 22.4.
  const schemaChecksNetwork = available && /network-config/.test(judgedSync({ judge: "cloud-init schema --help" }, () => spawnSync("cloud-init", ["schema", "--help"], { encoding: "utf8" })).stdout);
  (schemaChecksNetwork ? it : it.skip)("passes `cloud-init schema --schema-type network-config`", async () => {
    const file = path.join(work, "schema.yaml");
    const text = renderNetworkData(jumbo.vms[0]!, jumbo.config.networks);
    writeFileSync(file, text);
    const result = await judged({ judge: "cloud-init schema --schema-type network-config", texts: { config: text } }, () =>
      runTool("cloud-init", ["schema", "--schema-type", "network-config", "--config-file", file]),
    );
    expect(`${result.stdout}${result.stderr}`).toMatch(/Valid schema/);
    expect(result.status).toBe(0);
  });

  it("would reject the netplan-only `to: default` (the check can fail)", async () => {
    const yaml = renderNetworkData(example.vms[0]!, example.config.networks).replace("to: 0.0.0.0/0", "to: default");
    await expect(convert(yaml, "broken", "eni", "debian")).rejects.toThrow(/Address default is not a valid ip address/);
  });
});
