/**
 * The apply script against the real ifupdown2, in a throw-away network lab (see lab/netlab.ts):
 * private namespaces and private /etc/network, /run/network and /var/tmp/network, so the
 * machine's own network and any other ifupdown2 run are never touched.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { ClusterPlan } from "../config/plan";
import { renderNetworkApplyScript } from "../renderers/apply-scripts";
import { renderInterfaces } from "../renderers/interfaces";
import { planWith } from "./helpers";
import { ifupdown2 } from "./ifupdown2";
import { canRunLabs, NetLab } from "./lab/netlab";

const canRun = ifupdown2() && canRunLabs();

(canRun ? describe : describe.skip)("applying the dual-bridge layout with ifupdown2", () => {
  let lab: NetLab;
  let etc: string;
  const inHost = (cmd: string) => lab.inHost(cmd);

  beforeAll(() => {
    lab = new NetLab();
    etc = lab.sandbox.dir("/etc/network");
    writeFileSync(path.join(etc, "interfaces"), "auto lo\niface lo inet loopback\n");
  });

  afterAll(() => lab?.destroy());

  /** Stages the plan's file as interfaces.new and runs the apply script the way the host does. */
  const apply = (plan: ClusterPlan) => {
    const host = plan.hosts[0]!;
    writeFileSync(path.join(etc, "interfaces.new"), renderInterfaces(host, plan.config.name));
    const script = path.join(etc, "apply-network.sh");
    writeFileSync(script, renderNetworkApplyScript(host, { verifySeconds: 4 }));
    const result = lab.run(`sh ${script} 2>&1`);
    return result;
  };

  it("brings up both bridges with their addresses and MTUs, and one default route via the external bridge", () => {
    const result = apply(planWith());
    expect(result.stdout).toMatch(/network verified/);
    expect(result.status).toBe(0);

    const links = JSON.parse(inHost("ip -j addr show").stdout) as any[];
    const link = (name: string) => links.find((l) => l.ifname === name);
    expect(link("vmbr0").addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)).toContain("192.168.0.2/24");
    expect(link("vmbr1").addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)).toContain("10.0.0.2/24");
    expect(link("vmbr0").mtu).toBe(1500);
    expect(link("enp4s0").master).toBe("vmbr0");
    expect(link("enp5s0").master).toBe("vmbr1");

    const routes = JSON.parse(inHost("ip -j route show default").stdout) as any[];
    expect(routes).toEqual([expect.objectContaining({ gateway: "192.168.0.1", dev: "vmbr0" })]);
    expect(inHost("ping -c 3 -i 0.2 -W 1 10.0.0.3").status).toBe(0);
  });

  it("rolls back to the previous file when the new gateway does not answer", () => {
    const before = readFileSync(path.join(etc, "interfaces"), "utf8");
    const result = apply(planWith((c) => (c.networks.external.gateway = "192.168.0.254")));
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/192\.168\.0\.254 does not answer/);
    expect(result.stdout).toMatch(/rolled back/);
    expect(readFileSync(path.join(etc, "interfaces"), "utf8")).toBe(before);
    const routes = JSON.parse(inHost("ip -j route show default").stdout) as any[];
    expect(routes).toEqual([expect.objectContaining({ gateway: "192.168.0.1", dev: "vmbr0" })]);
  });

  it("raises the internal side to jumbo frames in place", () => {
    lab.inLan("ip link set lan5 mtu 9000");
    const result = apply(planWith((c) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true })));
    expect(result.stdout).toMatch(/network verified/);
    const links = JSON.parse(inHost("ip -j link show").stdout) as any[];
    expect(links.find((l) => l.ifname === "vmbr1").mtu).toBe(9000);
    expect(links.find((l) => l.ifname === "enp5s0").mtu).toBe(9000);
    expect(links.find((l) => l.ifname === "vmbr0").mtu).toBe(1500);
    // A full-size frame crosses the internal network unfragmented (9000 - 28 bytes of IP+ICMP headers).
    expect(inHost("ping -M do -s 8972 -c 3 -i 0.2 -W 1 10.0.0.3").status).toBe(0);
  });
});
