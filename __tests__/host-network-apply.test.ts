/**
 * host/pve-dualnet-network.sh against the real ifupdown2, with faults injected: every scenario
 * gets its own network lab (namespaces for the host and its LAN, private /etc/network,
 * /run/network, /var/tmp/network and /var/lib/pve-dualnet), so they run side by side.
 *
 * The lab's LAN answers as the gateway (192.168.0.1) and as a second Proxmox node (10.0.0.3,
 * MTU 1500 unless a scenario raises it). Each scenario asserts the exit status, the live file's
 * bytes, the live addresses and routes, and what is left in /etc/network.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { renderInterfaces } from "../renderers/interfaces";
import { dualBridgeNode, planWith } from "./helpers";
import { ifupdown2 } from "./ifupdown2";
import { canRunLabs, LAN } from "./lab/netlab";
import { PveHost, TEST_TIMES } from "./lab/pve-host";

const canRun = ifupdown2() && canRunLabs();
// Scenarios wait for real timeouts (the dead-man switch), side by side on a busy 2-core machine.
jest.setTimeout(90_000);

/** The example with a second Proxmox node whose internal address (10.0.0.3) the lab answers. */
const withPeer = (c: any) => c.proxmox.nodes.push(dualBridgeNode("pve2", "192.168.0.3", LAN.peer));
const plan = (edit: (c: any) => void = () => {}) => planWith((c) => (withPeer(c), edit(c)));
const base = plan();
const baseFile = renderInterfaces(base.hosts[0]!, base.config.name);
const jumbo = (c: any) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true });
const strandingGateway = plan((c) => (c.networks.external.gateway = "192.168.0.254"));

/** A lab host booted with the base file; destroyed after the scenario. */
async function scenario(run: (host: PveHost) => Promise<void>, booted = () => {}): Promise<void> {
  const host = await PveHost.create().catch((error) => {
    booted();
    throw error;
  });
  try {
    await host.boot(base).finally(booted);
    await run(host);
  } finally {
    await host.destroy();
  }
}

/**
 * A scenario as a test. Every scenario of the file runs side by side, started before the first
 * test (they spend their time waiting on real timeouts, not computing); each test awaits its own.
 * Jest's it.concurrent would run only five at a time. The scenarios that wait out the confirm
 * timeout (`waitsForDeadman`) decide how long the file takes: the others start once those have
 * booted, so that they boot on an idle machine.
 */
const longBooted: Promise<unknown>[] = [];
function labTest(name: string, run: (host: PveHost) => Promise<void>, options: { waitsForDeadman?: boolean } = {}): void {
  let outcome: Promise<void>;
  beforeAll(() => {
    if (options.waitsForDeadman) {
      let booted!: () => void;
      longBooted.push(new Promise<void>((resolve) => (booted = resolve)));
      outcome = scenario(run, booted);
    } else {
      outcome = Promise.allSettled(longBooted).then(() => scenario(run));
    }
    // Awaited by its test; this only keeps an early failure from counting as unhandled.
    outcome.catch(() => {});
  });
  it(name, () => outcome);
}

/** Nothing of a run is left where ifupdown2 or pvenetcommit would pick it up. */
const cleanEtc = (host: PveHost) => expect(host.etcNetwork()).toEqual(["interfaces"]);
const unchanged = async (host: PveHost) => {
  expect(host.live).toBe(baseFile);
  expect(await host.defaultRoutes()).toEqual([{ gateway: LAN.gateway, dev: "vmbr0" }]);
  cleanEtc(host);
};
const waitFor = async (check: () => boolean | Promise<boolean>, seconds: number) => {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until && !(await check())) await new Promise((r) => setTimeout(r, 100));
};
/** Every run's log, in run order ("" before the first run). */
const runLog = (host: PveHost) => {
  const runs = host.stateDir("network", "runs");
  if (!existsSync(runs)) return "";
  return readdirSync(runs)
    .sort()
    .map((run) => (existsSync(path.join(runs, run, "log")) ? readFileSync(path.join(runs, run, "log"), "utf8") : ""))
    .join("");
};

(canRun ? describe : describe.skip)("host/pve-dualnet-network.sh in a network lab", () => {
  labTest("happy path: switches, verifies, waits for the confirmation, keeps the change", async (host) => {
    const staged = host.stage(plan(jumbo));
    await host.lab.inLan("ip link set lan5 mtu 9000");
    const applied = await host.apply(staged);
    expect(applied.stdout).toMatch(/network verified/);
    expect(applied.stdout).toMatch(/awaiting confirmation/);
    expect(applied.status).toBe(0);
    const pending = (await host.program("status")).stdout;
    expect(pending).toMatch(/^pending:/);
    const deadline = Number(pending.match(/^ {2}DEADLINE=(\d+)$/m)![1]) * 1000;
    const confirmed = await host.confirm(staged);
    expect(confirmed.stdout).toMatch(/confirmed over a new connection/);
    expect(confirmed.status).toBe(0);

    expect(host.live).toBe(staged.interfaces);
    expect((await host.link("vmbr1")).mtu).toBe(9000);
    expect((await host.link("vmbr1")).addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)).toContain("10.0.0.2/24");
    expect((await host.link("enp4s0")).master).toBe("vmbr0");
    expect(await host.defaultRoutes()).toEqual([{ gateway: LAN.gateway, dev: "vmbr0" }]);
    expect((await host.lab.inHost(`ping -M do -s 8972 -c 1 -W 1 ${LAN.peer}`)).status).toBe(0);
    expect((await host.program("status")).stdout).toMatch(/^nothing pending/);
    cleanEtc(host);
    // The dead-man switch is gone: nothing is rolled back after the confirm timeout.
    await new Promise((r) => setTimeout(r, deadline + 2000 - Date.now()));
    expect(host.live).toBe(staged.interfaces);
  }, { waitsForDeadman: true });

  labTest("stranding gateway: rolls back at once, before any confirmation", async (host) => {
    const result = await host.apply(host.stage(strandingGateway));
    expect(result.stdout).toMatch(/gateway 192\.168\.0\.254 does not answer/);
    expect(result.stdout).toMatch(/rolled back: not verified within 6 s of the switch: gateway 192\.168\.0\.254 does not answer\. The previous network is live, as it was before the change/);
    expect(result.status).toBe(2);
    await unchanged(host);
    expect((await host.program("status")).stdout).toMatch(/^nothing pending/);
  });

  labTest("syntax error: refused by ifupdown2's check, nothing changed, nothing staged", async (host) => {
    const staged = host.stage(base, { interfaces: baseFile.replace("bridge-stp off", "bridge-stp maybe") });
    const result = await host.apply(staged);
    expect(result.stdout).toMatch(/syntax check of the new file failed; nothing changed/);
    expect(result.stdout).toMatch(/bridge-stp/);
    expect(result.status).toBe(1);
    await unchanged(host);
  });

  labTest("missing NIC: refused before switching", async (host) => {
    const staged = host.stage(plan((c) => c.proxmox.nodes[0].interfaces.splice(1, 0, { kind: "nic", name: "enp9s0" })));
    const result = await host.apply(staged);
    expect(result.stdout).toMatch(/NIC enp9s0 does not exist on pve/);
    expect(result.status).toBe(1);
    await unchanged(host);
  });

  labTest("disk full during the backup: refused, the live file untouched, nothing staged", async (host) => {
    // A state directory with room for the run's log and nothing more.
    const result = await host.apply(host.stage(plan(jumbo)), {
      prelude: "mount -t tmpfs -o size=4k tmpfs /var/lib/pve-dualnet && ",
    });
    expect(result.stdout).toMatch(/could not back up \/etc\/network\/interfaces .*\(disk full\?\); nothing changed|cannot (create|install) .*\(disk full\?\); nothing changed/);
    expect(result.status).toBe(1);
    await unchanged(host);
  });

  labTest("two applies at once: one switches, the other waits, sees it pending and changes nothing", async (host) => {
    const first = host.stage(plan((c) => (c.proxmox.nodes[0].interfaces[2].comment = "first")));
    const second = host.stage(plan((c) => (c.proxmox.nodes[0].interfaces[2].comment = "second")));
    const [a, b] = await Promise.all([host.apply(first), host.apply(second)]);
    const results = [a, b].sort((x, y) => (x.status ?? 9) - (y.status ?? 9));
    expect(results.map((r) => r.status)).toEqual([0, 4]);
    expect(results[1]!.stdout).toMatch(/busy: run \S+ switched the network and awaits confirmation/);
    const winner = a.status === 0 ? first : second;
    expect(host.live).toBe(winner.interfaces);
    expect((await host.confirm(winner)).status).toBe(0);
    // The loser's backup was never taken, the winner's is the original file.
    const backups = readdirSync(host.stateDir("network", "runs")).flatMap((run) => {
      const file = host.stateDir("network", "runs", run, "backup");
      try {
        return [readFileSync(file, "utf8")];
      } catch {
        return [];
      }
    });
    expect(backups).toEqual([baseFile]);
    cleanEtc(host);
  });

  labTest("SIGKILL right after the switch: the dead-man switch restores the previous file", async (host) => {
    const run = host.apply(host.stage(strandingGateway), { pauseAt: "switched" });
    await waitFor(() => host.live !== baseFile, 10);
    expect(host.live).not.toBe(baseFile);
    process.kill(run.pid!, "SIGKILL");
    const killed = await run;
    expect(killed.signal).toBe("SIGKILL");
    await waitFor(() => /dead-man switch: the unconfirmed change was rolled back/.test(runLog(host)), TEST_TIMES.confirmTimeout + 8);
    expect(runLog(host)).toMatch(/rolling back: not confirmed within the confirm timeout \(dead-man switch\)\n.*dead-man switch: the unconfirmed change was rolled back/);
    await unchanged(host);
  }, { waitsForDeadman: true });

  labTest("SIGTERM while verifying: rolls back at once", async (host) => {
    const run = host.apply(host.stage(strandingGateway));
    await waitFor(() => /waiting: /.test(runLog(host)), 10);
    process.kill(run.pid!, "SIGTERM");
    const result = await run;
    expect(result.stdout).toMatch(/rolled back: interrupted by a signal/);
    expect(result.status).toBe(2);
    await unchanged(host);
  });

  labTest("a switch that drops jumbo frames: the DF ping at the planned MTU fails, rolled back", async (host) => {
    // The lab's switch port (lan5) stays at 1500.
    const result = await host.apply(host.stage(plan(jumbo)));
    expect(result.stdout).toMatch(/peer 10\.0\.0\.3 does not answer 9000-byte unfragmented pings/);
    expect(result.status).toBe(2);
    await unchanged(host);
    expect((await host.link("vmbr1")).mtu).toBe(1500);
  });

  labTest("a peer that was already down is reported, not required", async (host) => {
    const staged = host.stage(
      plan((c) => {
        c.proxmox.nodes.push(dualBridgeNode("pve3", "192.168.0.4", "10.0.0.4"));
        c.proxmox.nodes[0].interfaces[2].comment = "changed";
      }),
    );
    const result = await host.apply(staged, { confirm: true });
    expect(result.stdout).toMatch(/peer 10\.0\.0\.4 does not answer before the change: reported, not required/);
    expect(result.stdout).toMatch(/confirmed: the new network is live/);
    expect(result.status).toBe(0);
    expect(host.live).toBe(staged.interfaces);
  });

  labTest("a repeated apply is a no-op", async (host) => {
    const staged = host.stage(base);
    const result = await host.apply(staged);
    expect(result.stdout).toMatch(/already live: .* nothing changed/);
    expect(result.status).toBe(0);
    expect((await host.confirm(staged)).stdout).toMatch(/already is this file; nothing was pending/);
    await unchanged(host);
    const runs = readdirSync(host.stateDir("network", "runs"));
    expect(runs.every((run) => !readdirSync(host.stateDir("network", "runs", run)).includes("backup"))).toBe(true);
  });

  labTest("a stale marker or an old log changes nothing", async (host) => {
    // What an earlier run might have left: a pending marker for another file, a log that says "verified".
    const runs = host.stateDir("network", "runs", "20200101T000000Z-1");
    await host.lab.run(`mkdir -p /var/lib/pve-dualnet/network/runs/20200101T000000Z-1`);
    writeFileSync(path.join(runs, "log"), "network verified\nconfirmed: the new network is live\n");
    writeFileSync(host.stateDir("network", "pending"), `RUN=20200101T000000Z-1\nNEW_SHA=${"0".repeat(64)}\nBACKUP=/nowhere\nBACKUP_SHA=x\nDEADLINE=1\nWATCHDOG=pid:1\n`);
    const result = await host.apply(host.stage(strandingGateway));
    expect(result.stdout).toMatch(/dropping a stale pending marker/);
    expect(result.status).toBe(2);
    await unchanged(host);
    const good = host.stage(plan((c) => (c.proxmox.nodes[0].interfaces[2].comment = "after the stale marker")));
    expect((await host.apply(good, { confirm: true })).status).toBe(0);
    expect(host.live).toBe(good.interfaces);
  });

  labTest("a default route through an unplanned gateway fails verification, even when that gateway answers", async (host) => {
    await host.lab.inLan("ip addr add 192.168.0.253/24 dev lan4");
    // The file routes via .253; the plan (and so the check) says .1.
    const staged = host.stage(base, { interfaces: baseFile.replace("gateway 192.168.0.1", "gateway 192.168.0.253") });
    const result = await host.apply(staged);
    expect(result.stdout).toMatch(/the default route is 'default via 192\.168\.0\.253 dev vmbr0.*', planned via 192\.168\.0\.1 dev vmbr0/);
    expect(result.status).toBe(2);
    await unchanged(host);
  });

  labTest("a live network that differs from the plan fails verification: an address, then an MTU", async (host) => {
    const quick = { ...TEST_TIMES, verifyTimeout: 2 };
    // The file gives vmbr1 another address than the plan, and so the check, says.
    const address = await host.apply(host.stage(base, { times: quick, interfaces: baseFile.replace("address 10.0.0.2/24", "address 10.0.0.9/24") }));
    expect(address.stdout).toMatch(/rolled back: not verified within 2 s of the switch: vmbr1 does not have 10\.0\.0\.2\/24/);
    expect(address.status).toBe(2);
    // The plan raises the internal MTU to 9000; the file (changed only by a comment) keeps 1500.
    const mtu = await host.apply(host.stage(plan(jumbo), { times: quick, interfaces: `${baseFile}# MTU left as it was\n` }));
    expect(mtu.stdout).toMatch(/rolled back: not verified within 2 s of the switch: enp5s0 has MTU 1500, planned 9000/);
    expect(mtu.status).toBe(2);
    await unchanged(host);
  });

  labTest("a bridge moved onto a NIC without a link is rolled back", async (host) => {
    await host.lab.addNic("enp6s0", false);
    const staged = host.stage(
      plan((c) => {
        const ifaces = c.proxmox.nodes[0].interfaces;
        ifaces.splice(2, 0, { kind: "nic", name: "enp6s0" });
        ifaces.find((i: any) => i.name === "vmbr1").ports = ["enp6s0"];
      }),
    );
    const result = await host.apply(staged);
    expect(result.stdout).toMatch(/(enp6s0|vmbr1) has no carrier \(link down\)/);
    expect(result.status).toBe(2);
    expect(host.live).toBe(baseFile);
    expect((await host.link("enp5s0")).master).toBe("vmbr1");
  });

  labTest("verified but never confirmed (Terraform lost the host): rolled back at the confirm timeout", async (host) => {
    const staged = host.stage(plan((c) => (c.proxmox.nodes[0].interfaces[2].comment = "unconfirmed")));
    const applied = await host.apply(staged);
    expect(applied.stdout).toMatch(/switched: [\s\S]*verified; awaiting confirmation/);
    expect(applied.status).toBe(0);
    await waitFor(() => /dead-man switch: the unconfirmed change was rolled back/.test(runLog(host)), TEST_TIMES.confirmTimeout + 8);
    const late = await host.confirm(staged);
    expect(late.stdout).toMatch(/not confirmed: the change was rolled back before confirmation/);
    expect(late.status).toBe(2);
    await unchanged(host);
  }, { waitsForDeadman: true });

  labTest("a reboot inside the confirm window: the boot guard restores the previous file", async (host) => {
    const staged = host.stage(plan((c) => (c.proxmox.nodes[0].interfaces[2].comment = "rebooted")));
    expect((await host.apply(staged)).status).toBe(0);
    // The reboot: the watchdog dies with the old boot; the guard runs before networking.
    await host.lab.inHost(`kill -9 ${readFileSync(host.stateDir("network", "pending"), "utf8").match(/^WATCHDOG=pid:(\d+)$/m)![1]}`);
    const guard = await host.program("boot-guard");
    expect(guard.stdout).toMatch(/boot guard: restored the file run \S+ replaced/);
    expect(guard.status).toBe(2);
    expect(host.live).toBe(baseFile);
    expect((await host.program("status")).stdout).toMatch(/^nothing pending/);
    cleanEtc(host);
  });

  labTest("pending changes from the Proxmox GUI (interfaces.new) are never overwritten by a later boot", async (host) => {
    const gui = "auto lo\niface lo inet loopback\n# edited in the GUI\n";
    writeFileSync(host.lab.sandbox.file("/etc/network", "interfaces.new"), gui);
    const result = await host.apply(host.stage(plan(jumbo)));
    expect(result.stdout).toMatch(/interfaces\.new holds pending changes made in the Proxmox GUI/);
    expect(result.status).toBe(1);
    expect(host.live).toBe(baseFile);
    expect(readFileSync(host.lab.sandbox.file("/etc/network", "interfaces.new"), "utf8")).toBe(gui);
  });
});
