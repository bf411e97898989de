/**
 * host/pve-dualnet-network.sh against the real ifupdown2, with faults injected: every scenario
 * gets its own network lab (namespaces for the host and its LAN, private /etc/network,
 * /run/network, /var/tmp/network, /run/pve-dualnet and /var/lib/pve-dualnet), so they run side
 * by side.
 *
 * The lab's LAN answers as the gateway (192.168.0.1) and as a second Proxmox node (10.0.0.3,
 * MTU 1500 unless a scenario raises it). Each scenario asserts the exit status, the live file's
 * bytes, the live addresses and routes, and what is left in /etc/network and the state directory.
 *
 * Waits are for the program's own checkpoints and log lines, with budgets derived from the
 * configured times: the suite runs on a busy 2-core machine, and a cold start is slow.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { renderInterfaces } from "../renderers/interfaces";
import { dualBridgeNode, planWith } from "./helpers";
import { ifupdown2 } from "./ifupdown2";
import { canRunLabs, LAN } from "./lab/netlab";
import { PveHost, TEST_TIMES } from "./lab/pve-host";
import { shellQuote } from "./lab/sandbox";

const canRun = ifupdown2() && canRunLabs();
// Scenarios wait for real timeouts (the dead-man switch), side by side on a busy 2-core machine.
jest.setTimeout(180_000);

/** The example with a second Proxmox node whose internal address (10.0.0.3) the lab answers. */
const withPeer = (c: any) => c.proxmox.nodes.push(dualBridgeNode("pve2", "192.168.0.3", LAN.peer));
const plan = (edit: (c: any) => void = () => {}) => planWith((c) => (withPeer(c), edit(c)));
const base = plan();
const baseFile = renderInterfaces(base.hosts[0]!, base.config.name);
const jumbo = (c: any) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true });
/**
 * A change that strands the host (its gateway does not answer) and that turns the bridged host into
 * a router: vmbr1's network masqueraded through vmbr0 (the NAT layout's post-up lines: ip_forward,
 * iptables' nat and raw rules) and proxy ARP on vmbr0 (the routed layout's). None of it is
 * ifupdown2's to take back: every rollback of it must (see `unchanged`).
 */
const routing = (c: any) => {
  const interfaces = c.proxmox.nodes[0].interfaces;
  Object.assign(interfaces.find((i: any) => i.name === "vmbr0"), { ipForward: true, proxyArp: true });
  interfaces.find((i: any) => i.name === "vmbr1").masquerade = { outInterface: "vmbr0" };
};
const strandingGateway = plan((c) => ((c.networks.external.gateway = "192.168.0.254"), routing(c)));
const commented = (comment: string) => plan((c) => (c.proxmox.nodes[0].interfaces[2].comment = comment));
/** A change that verifies and leaves something to take back: a second address on vmbr1. */
const EXTRA = "10.0.0.22/24";
const withExtraAddress = baseFile.replace("address 10.0.0.2/24", `address 10.0.0.2/24\n\taddress ${EXTRA}`);

/**
 * For scenarios that confirm, or leave a change pending only to act on it at once: a confirm
 * window that a slow reload on a busy machine cannot run out (nothing waits for it).
 */
const ROOMY = { ...TEST_TIMES, confirmTimeout: 90 };
/**
 * For scenarios whose run is killed, stopped or hung right after the switch, so that nothing
 * happens inside the confirm window but the wait for the dead-man switch: the shortest window in
 * which the apply's own reload (given until 2 s before the deadline, at least VERIFY_TIMEOUT)
 * still ends before the deadline. The stopped run is preempted OVERDUE_APPLY (10 s) after it:
 * with the usual window that scenario alone took 10 s longer than the whole rest of the file.
 */
const BRIEF = { ...TEST_TIMES, confirmTimeout: TEST_TIMES.verifyTimeout + 2 };

/**
 * Budgets of the waits, from the configured times. Until a checkpoint: the syntax check (a cold
 * python start can take seconds), probes and the backup. Until the dead-man switch has rolled
 * back: its deadline, 10 s of grace for a stuck owner (OVERDUE_APPLY), a slow reload.
 */
const BUDGET = {
  checkpoint: TEST_TIMES.verifyTimeout + 45,
  deadman: TEST_TIMES.confirmTimeout + 10 + 4 * TEST_TIMES.verifyTimeout + 45,
};

/** A lab host booted with the base file; destroyed after the scenario. */
async function scenario(run: (host: PveHost) => Promise<void>): Promise<void> {
  const host = await PveHost.create();
  try {
    await host.boot(base);
    await run(host);
  } finally {
    await host.destroy();
  }
}

/**
 * A scenario as a test. Every scenario of the file runs side by side, started before the first
 * test (they spend their time waiting on real timeouts, not computing); each test awaits its own.
 * Jest's it.concurrent would run only five at a time. The scenarios that wait out the confirm
 * timeout (`waitsForDeadman`) start first: their switch, verification and confirmation must fit
 * the confirm window, so the others start once each of those has said `ready()` (its timed part
 * is done, only the wait for the dead-man switch is left) or ended.
 */
const longReady: Promise<unknown>[] = [];
/**
 * The others run at most this many at a time: each starts ifupdown2 (a python program) a few
 * times, and beyond that 2 cores thrash until verification windows of a few seconds run out.
 */
const AT_ONCE = 6;
let busy = 0;
const waiting: (() => void)[] = [];
async function inTurn(run: () => Promise<void>): Promise<void> {
  while (busy >= AT_ONCE) await new Promise<void>((resolve) => waiting.push(resolve));
  busy++;
  try {
    await run();
  } finally {
    busy--;
    waiting.shift()?.();
  }
}
function labTest(name: string, run: (host: PveHost, ready: () => void) => Promise<void>, options: { waitsForDeadman?: boolean } = {}): void {
  let outcome: Promise<void>;
  beforeAll(() => {
    if (!canRun) return;
    if (options.waitsForDeadman) {
      let ready!: () => void;
      longReady.push(new Promise<void>((resolve) => (ready = resolve)));
      outcome = scenario((host) => run(host, ready)).finally(ready);
    } else {
      outcome = Promise.allSettled(longReady).then(() => inTurn(() => scenario((host) => run(host, () => {}))));
    }
    // Awaited by its test; this only keeps an early failure from counting as unhandled.
    outcome.catch(() => {});
  });
  it(name, () => outcome);
}

/** Nothing of a run is left where ifupdown2 or pvenetcommit would pick it up. */
const cleanEtc = (host: PveHost) => expect(host.etcNetwork()).toEqual(["interfaces"]);
/** The booted host's forwarding, proxy ARP and NAT rules: none (PveHost.boot). */
const NOT_ROUTING = { forwarding: ["0", "0"], proxyArpVmbr0: "0", rules: [] };
const unchanged = async (host: PveHost) => {
  expect(host.live).toBe(baseFile);
  expect(await host.defaultRoutes()).toEqual([{ gateway: LAN.gateway, dev: "vmbr0" }]);
  expect(await addresses(host, "vmbr1")).toEqual(["10.0.0.2/24"]);
  expect(await host.routingState()).toEqual(NOT_ROUTING);
  cleanEtc(host);
};
const addresses = async (host: PveHost, dev: string) => ((await host.link(dev))?.addr_info ?? []).filter((a: any) => a.family === "inet").map((a: any) => `${a.local}/${a.prefixlen}`);
/** An apply that verified and left its change pending (the log shows on failure). */
const verifiedPending = (result: { stdout: string; status: number | null }) => {
  expect(result.stdout).toMatch(/verified; awaiting confirmation until/);
  expect(result.status).toBe(0);
};
/** No pending marker: nothing for a dead-man switch, the boot guard or the next apply to do. */
const nothingPending = (host: PveHost) => expect(existsSync(host.stateDir("network", "pending"))).toBe(false);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls until `check` holds; fails the scenario, naming `what`, after `seconds`. */
const waitUntil = async (what: string, check: () => boolean | Promise<boolean>, seconds: number) => {
  const until = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`waited ${seconds} s for ${what}`);
    await sleep(100);
  }
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
const waitForLog = (host: PveHost, line: RegExp, seconds: number) => waitUntil(`${line} in the run logs`, () => line.test(runLog(host)), seconds);
const DEADMAN_DONE = /dead-man switch: the unconfirmed change was rolled back/;
/** The pending marker's fields ({} when there is none). */
const marker = (host: PveHost): Record<string, string> => {
  const file = host.stateDir("network", "pending");
  if (!existsSync(file)) return {};
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
};
const watchdogPid = (host: PveHost) => Number(/^pid:(\d+)/.exec(marker(host).WATCHDOG ?? "")![1]);
/** Fields of /proc/PID/stat after the command name (index 0 is field 3, the state). */
const procStat = (pid: number): string[] | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(") ") + 2).trim().split(" ");
  } catch {
    return undefined;
  }
};
/** A process that runs (not gone, not a zombie). */
const running = (pid: number) => !["Z", "X", undefined].includes(procStat(pid)?.[0]);
const rewriteMarker = (host: PveHost, edit: (text: string) => string) => {
  const file = host.stateDir("network", "pending");
  writeFileSync(file, edit(readFileSync(file, "utf8")));
};
/** The file of the newest run's directory named `name`. */
const runFile = (host: PveHost, run: string, name: string) => host.stateDir("network", "runs", run, name);
/** Races a run against a budget: a run that hangs fails the scenario instead of the whole file. */
const within = async <T>(what: string, run: Promise<T>, seconds: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} still ran after ${seconds} s`)), seconds * 1000)));
  try {
    return await Promise.race([run, late]);
  } finally {
    clearTimeout(timer);
  }
};

(canRun ? describe : describe.skip)("host/pve-dualnet-network.sh in a network lab", () => {
  labTest("happy path: switches, verifies, waits for the confirmation, keeps the change", async (host, ready) => {
    const staged = host.stage(plan(jumbo));
    await host.lab.inLan("ip link set lan5 mtu 9000");
    const applied = await host.apply(staged);
    expect(applied.stdout).toMatch(/network verified/);
    expect(applied.stdout).toMatch(/awaiting confirmation/);
    expect(applied.status).toBe(0);
    const pending = (await host.program("status")).stdout;
    expect(pending).toMatch(/^pending:/);
    expect(pending).toMatch(/dead-man switch armed/);
    const deadline = Number(pending.match(/^ {2}DEADLINE=(\d+)$/m)![1]) * 1000;
    const confirmed = await host.confirm(staged);
    expect(confirmed.stdout).toMatch(/confirmed over a new connection/);
    expect(confirmed.status).toBe(0);
    ready();

    expect(host.live).toBe(staged.interfaces);
    expect((await host.link("vmbr1")).mtu).toBe(9000);
    expect(await addresses(host, "vmbr1")).toEqual(["10.0.0.2/24"]);
    expect((await host.link("enp4s0")).master).toBe("vmbr0");
    expect(await host.defaultRoutes()).toEqual([{ gateway: LAN.gateway, dev: "vmbr0" }]);
    expect((await host.lab.inHost(`ping -M do -s 8972 -c 1 -W 1 ${LAN.peer}`)).status).toBe(0);
    nothingPending(host);
    cleanEtc(host);
    // The dead-man switch is gone: nothing is rolled back after the confirm timeout.
    await sleep(deadline + 2000 - Date.now());
    expect(host.live).toBe(staged.interfaces);
    expect(runLog(host)).not.toMatch(/rolling back/);
  }, { waitsForDeadman: true });

  labTest("stranding gateway: rolls back at once, before any confirmation", async (host) => {
    // Held once the change is reloaded: its commands ran (on a loaded machine a reload can outlast
    // the 6 s window, and then verification looks once, without a "waiting" line to wait for).
    const run = host.apply(host.stage(strandingGateway), { pauseAt: "reloaded" });
    await waitForLog(host, /checkpoint reloaded/, BUDGET.checkpoint);
    // The change was live: forwarding, proxy ARP and the masquerade rules on.
    const live = await host.routingState();
    expect(live.forwarding).toEqual(["1", "0"]);
    expect(live.proxyArpVmbr0).toBe("1");
    expect(live.rules).toEqual(["iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o vmbr0 -j MASQUERADE", "iptables -t raw -A PREROUTING -i fwbr+ -j CT --zone 1"]);
    host.resume();
    const result = await run;
    expect(result.stdout).toMatch(/rolled back: not verified within 6 s of the switch: gateway 192\.168\.0\.254 does not answer\. The previous network is live, as it was before the change/);
    // What ifreload of the previous file leaves behind, given back and said so.
    expect(result.stdout).toMatch(/restored net\.ipv4\.ip_forward to 0 \(the rejected file had set 1\)/);
    expect(result.stdout).toMatch(/restored net\.ipv4\.conf\.vmbr0\.proxy_arp to 0 \(the rejected file had set 1\)/);
    expect(result.stdout).toMatch(/removed 1 copy of the rejected file's rule: iptables -t nat -A POSTROUTING -s 10\.0\.0\.0\/24 -o vmbr0 -j MASQUERADE/);
    expect(result.stdout).toMatch(/removed 1 copy of the rejected file's rule: iptables -t raw -A PREROUTING -i fwbr\+ -j CT --zone 1/);
    expect(result.status).toBe(2);
    await unchanged(host);
    expect((await host.program("status")).stdout).toMatch(/^nothing pending/);
    nothingPending(host);
  });

  labTest("syntax error: refused by ifupdown2's check, nothing changed, nothing staged", async (host) => {
    const staged = host.stage(base, { interfaces: baseFile.replace("bridge-stp off", "bridge-stp maybe") });
    const result = await host.apply(staged);
    expect(result.stdout).toMatch(/syntax check of the new file failed; nothing changed/);
    expect(result.stdout).toMatch(/bridge-stp/);
    expect(result.status).toBe(1);
    await unchanged(host);
  });

  labTest("missing NIC: refused before switching, also where the name is only another NIC's alternative name", async (host) => {
    // `ip link show dev enp9s0` finds enp4s0 by this altname (systemd keeps a renamed NIC's old
    // name as one); ifupdown2 cannot use it.
    expect((await host.lab.inHost("ip link property add dev enp4s0 altname enp9s0")).status).toBe(0);
    const staged = host.stage(plan((c) => c.proxmox.nodes[0].interfaces.splice(1, 0, { kind: "nic", name: "enp9s0" })));
    const result = await host.apply(staged);
    expect(result.stdout).toMatch(/NIC enp9s0 does not exist on pve/);
    expect(result.status).toBe(1);
    await unchanged(host);
  });

  labTest("NICs pinned by MAC: refused, naming where each MAC is, when the names moved; applied when they hold", async (host) => {
    const mac0 = (await host.link("enp4s0")).address as string;
    const mac1 = (await host.link("enp5s0")).address as string;
    const pinned = (first: string, second: string) => (c: any) => {
      c.proxmox.nodes[0].interfaces[0].mac = first.toUpperCase();
      c.proxmox.nodes[0].interfaces[1].mac = second;
      c.proxmox.nodes[0].interfaces[2].comment = "changed";
    };
    // The NICs swapped names (as after a kernel update): nothing may change.
    const swapped = await host.apply(host.stage(plan(pinned(mac1, mac0)), { times: ROOMY }), { confirm: true });
    expect(swapped.stdout).toContain(`enp4s0 has MAC ${mac0}, not ${mac1}: the NIC with ${mac1} is named enp5s0 here`);
    expect(swapped.stdout).toContain(`enp5s0 has MAC ${mac1}, not ${mac0}: the NIC with ${mac0} is named enp4s0 here`);
    expect(swapped.status).toBe(1);
    await unchanged(host);
    const gone = await host.apply(host.stage(plan(pinned(mac0, "02:00:00:00:00:99")), { times: ROOMY }), { confirm: true });
    expect(gone.stdout).toContain(`enp5s0 has MAC ${mac1}, not 02:00:00:00:00:99: no interface here has 02:00:00:00:00:99`);
    expect(gone.stdout).not.toMatch(/enp4s0 has MAC/);
    expect(gone.status).toBe(1);
    await unchanged(host);
    const staged = host.stage(plan(pinned(mac0, mac1)), { times: ROOMY });
    const applied = await host.apply(staged, { confirm: true });
    expect(applied.stdout).toMatch(/confirmed: the new network is live/);
    expect(applied.status).toBe(0);
    expect(host.live).toBe(staged.interfaces);
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
    const first = host.stage(commented("first"), { times: ROOMY });
    const second = host.stage(commented("second"), { times: ROOMY });
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

  labTest("SIGKILL right after the switch: the dead-man switch restores the previous file", async (host, ready) => {
    const run = host.apply(host.stage(strandingGateway, { times: BRIEF }), { pauseAt: "switched" });
    await waitForLog(host, /checkpoint switched/, BUDGET.checkpoint);
    expect(host.live).not.toBe(baseFile);
    process.kill(run.pid!, "SIGKILL");
    const killed = await run;
    expect(killed.signal).toBe("SIGKILL");
    ready();
    await waitForLog(host, DEADMAN_DONE, BUDGET.deadman);
    expect(runLog(host)).toMatch(/rolling back: not confirmed within the confirm timeout \(dead-man switch\)\n[\s\S]*dead-man switch: the unconfirmed change was rolled back/);
    await unchanged(host);
    nothingPending(host);
  }, { waitsForDeadman: true });

  labTest("SIGTERM while verifying: rolls back at once", async (host) => {
    // Held where verification begins, the switched network reloaded.
    const run = host.apply(host.stage(strandingGateway), { pauseAt: "reloaded" });
    await waitForLog(host, /checkpoint reloaded/, BUDGET.checkpoint);
    process.kill(run.pid!, "SIGTERM");
    const result = await run;
    expect(result.stdout).toMatch(/rolled back: interrupted by a signal/);
    expect(result.status).toBe(2);
    await unchanged(host);
    nothingPending(host);
  });

  labTest("SSH dropped right after the switch (SIGHUP to its session, output closed): the run goes on and rolls back by itself", async (host) => {
    const staged = host.stage(strandingGateway);
    // A session of its own whose reader goes away after the switch and hangs the whole session up,
    // as sshd and the kernel do when the connection drops.
    const reader = `while IFS= read -r line; do printf '%s\\n' "$line"; case "$line" in *"checkpoint switched"*) kill -HUP 0; exit 0 ;; esac; done`;
    const session = await host.lab.run(`exec setsid sh -c ${shellQuote(`${host.applyCommand(staged)} 2>&1 | { ${reader}; }`)}`);
    expect(session.stdout).toMatch(/checkpoint switched/);
    // The run's own record: it went on to verify, failed, and rolled back.
    const result = () => {
      const run = readdirSync(host.stateDir("network", "runs"))[0]!;
      return existsSync(runFile(host, run, "result")) ? readFileSync(runFile(host, run, "result"), "utf8") : "";
    };
    await waitUntil("the run's result", () => result() !== "", BUDGET.deadman);
    expect(result()).toMatch(/^2 rolled back: not verified within 6 s of the switch: gateway 192\.168\.0\.254 does not answer/);
    expect(runLog(host)).toMatch(/checkpoint switched\n[\s\S]*checkpoint reloaded\n[\s\S]*rolling back: not verified/);
    expect(runLog(host)).not.toMatch(/rolling back: not confirmed/);
    await unchanged(host);
    nothingPending(host);
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
      { times: ROOMY },
    );
    const result = await host.apply(staged, { confirm: true });
    expect(result.stdout).toMatch(/peer 10\.0\.0\.4 does not answer before the change: reported, not required/);
    expect(result.stdout).toMatch(/confirmed: the new network is live/);
    expect(result.status).toBe(0);
    expect(host.live).toBe(staged.interfaces);
    nothingPending(host);
  });

  labTest("a NAT change confirmed, reloaded three times, then a bridged file confirmed: one copy of each rule, then none, and forwarding off", async (host) => {
    const nat = host.stage(plan(routing), { times: ROOMY });
    const applied = await host.apply(nat, { confirm: true });
    expect(applied.stdout).toMatch(/confirmed: the new network is live/);
    expect(applied.status).toBe(0);
    // The values the settings had before the first file that writes them: what they go back to.
    expect(readFileSync(host.stateDir("network", "settings-before"), "utf8")).toBe("/proc/sys/net/ipv4/conf/vmbr0/proxy_arp 0\n/proc/sys/net/ipv4/ip_forward 0\n");
    // Every ifreload runs each post-up line again (ifreload_down_changed=0): the rules are added once.
    for (let i = 0; i < 3; i++) expect((await host.lab.run("ifreload -a 2>&1")).status).toBe(0);
    const routed = {
      forwarding: ["1", "0"],
      proxyArpVmbr0: "1",
      rules: ["iptables -t nat -A POSTROUTING -s 10.0.0.0/24 -o vmbr0 -j MASQUERADE", "iptables -t raw -A PREROUTING -i fwbr+ -j CT --zone 1"],
    };
    expect(await host.routingState()).toEqual(routed);
    // Back onto the bridged file, confirmed over a new connection: ifreload keeps vmbr0 and vmbr1
    // (never taken down, so no post-down runs); what only the NAT file did goes at confirmation.
    const bridged = host.stage(base, { times: ROOMY });
    verifiedPending(await host.apply(bridged));
    expect(await host.routingState()).toEqual(routed);
    // A setting without a record (the previous file written by hand, or by an earlier version)
    // goes back to what the host's sysctl configuration sets at boot (sysctl.d(5), either key
    // form), else to the kernel's default, 0.
    writeFileSync(host.stateDir("network", "settings-before"), "/proc/sys/net/ipv4/ip_forward 0\n");
    writeFileSync(host.lab.sandbox.file("/etc/sysctl.d", "60-proxy-arp.conf"), "net.ipv4.conf.vmbr0.proxy_arp = 1\nnet/ipv4/conf/vmbr0/proxy_arp=0\n");
    const confirmed = await host.confirm(bridged);
    expect(confirmed.stdout).toMatch(/confirmed over a new connection/);
    expect(confirmed.status).toBe(0);
    await unchanged(host);
    expect(confirmed.stdout).toMatch(/reset net\.ipv4\.ip_forward to 0 \(its value before the previous file set it\): only the previous file set it, to 1/);
    expect(confirmed.stdout).toMatch(/reset net\.ipv4\.conf\.vmbr0\.proxy_arp to 0 \(what the host's sysctl configuration sets at boot, before any interfaces file runs\)/);
    expect(confirmed.stdout).toMatch(/removed 1 copy of the previous file's rule: iptables -t nat -A POSTROUTING -s 10\.0\.0\.0\/24 -o vmbr0 -j MASQUERADE/);
    expect(confirmed.stdout).toMatch(/removed 1 copy of the previous file's rule: iptables -t raw -A PREROUTING -i fwbr\+ -j CT --zone 1/);
    expect(existsSync(host.stateDir("network", "settings-before"))).toBe(false);
    nothingPending(host);
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
    // What an earlier version might have left: a pending marker for another file, a log that says "verified".
    const runs = host.stateDir("network", "runs", "20200101T000000Z-1");
    await host.lab.run(`mkdir -p /var/lib/pve-dualnet/network/runs/20200101T000000Z-1`);
    writeFileSync(path.join(runs, "log"), "network verified\nconfirmed: the new network is live\n");
    writeFileSync(host.stateDir("network", "pending"), `RUN=20200101T000000Z-1\nNEW_SHA=${"0".repeat(64)}\nBACKUP=/nowhere\nBACKUP_SHA=x\nDEADLINE=1\nWATCHDOG=pid:1\n`);
    const result = await host.apply(host.stage(strandingGateway));
    expect(result.stdout).toMatch(/dropping a stale pending marker/);
    expect(result.status).toBe(2);
    await unchanged(host);
    const good = host.stage(commented("after the stale marker"), { times: ROOMY });
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
    // Via the planned gateway, on a device whose name begins with the planned one's: vmbr01, a
    // bridge of the file that takes the default route (onlink: it has no address), not vmbr0.
    const elsewhere = baseFile
      .replace("\tgateway 192.168.0.1\n", "")
      .replace("auto vmbr1\n", "auto vmbr01\niface vmbr01 inet manual\n\tbridge-ports none\n\tbridge-stp off\n\tbridge-fd 0\n\tpost-up ip route add default via 192.168.0.1 dev vmbr01 onlink\n\nauto vmbr1\n");
    expect(elsewhere).toMatch(/iface vmbr01[\s\S]*auto vmbr1\n/);
    const prefixed = await host.apply(host.stage(base, { interfaces: elsewhere, times: { ...TEST_TIMES, verifyTimeout: 2 } }));
    expect(prefixed.stdout).toMatch(/the default route is 'default via 192\.168\.0\.1 dev vmbr01 onlink.*', planned via 192\.168\.0\.1 dev vmbr0/);
    expect(prefixed.status).toBe(2);
    await unchanged(host);
    expect(await host.link("vmbr01")).toBeUndefined();
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

  labTest("verified but never confirmed (Terraform lost the host), GUI changes made meanwhile: rolled back, the GUI's file saved, not left for pvenetcommit", async (host, ready) => {
    // A change that verifies and turns the host into a router (see `routing`): the dead-man switch
    // must give that back too.
    const staged = host.stage(plan(routing));
    const applied = await host.apply(staged);
    expect(applied.stdout).toMatch(/switched: [\s\S]*verified; awaiting confirmation/);
    expect(applied.status).toBe(0);
    expect((await host.routingState()).forwarding).toEqual(["1", "0"]);
    // The Proxmox GUI edits the network while the change is live: its interfaces.new holds the
    // unconfirmed file plus the edit.
    const gui = `${staged.interfaces}# edited in the GUI\n`;
    writeFileSync(host.lab.sandbox.file("/etc/network", "interfaces.new"), gui);
    const run = marker(host).RUN!;
    ready();
    await waitForLog(host, DEADMAN_DONE, BUDGET.deadman);
    expect(runLog(host)).toMatch(/the Proxmox GUI wrote pending changes to \/etc\/network\/interfaces\.new while this change was live, on top of it: saved to \S+interfaces\.new\.from-gui and removed/);
    expect(readFileSync(runFile(host, run, "interfaces.new.from-gui"), "utf8")).toBe(gui);
    expect(runLog(host)).toMatch(/restored net\.ipv4\.ip_forward to 0 \(the rejected file had set 1\)/);
    const late = await host.confirm(staged);
    expect(late.stdout).toMatch(/not confirmed: the change was rolled back before confirmation/);
    expect(late.status).toBe(2);
    await unchanged(host);
    nothingPending(host);
  }, { waitsForDeadman: true });

  labTest("pending changes from the Proxmox GUI (interfaces.new) are never overwritten by a later boot", async (host) => {
    const gui = "auto lo\niface lo inet loopback\n# edited in the GUI\n";
    writeFileSync(host.lab.sandbox.file("/etc/network", "interfaces.new"), gui);
    const result = await host.apply(host.stage(plan(jumbo)));
    expect(result.stdout).toMatch(/interfaces\.new holds pending changes \(made in the Proxmox GUI, or by pve-network-interface-pinning/);
    expect(result.status).toBe(1);
    expect(host.live).toBe(baseFile);
    expect(readFileSync(host.lab.sandbox.file("/etc/network", "interfaces.new"), "utf8")).toBe(gui);
  });

  // ---------------------------------------------------------------------------------------------
  // The dead-man switch cannot be lost
  // ---------------------------------------------------------------------------------------------

  labTest("the dead-man switch SIGKILLed during its rollback's ifreload: the rollback stays pending, `rollback` finishes it", async (host, ready) => {
    const stuck = host.stuckIfreload(0);
    const staged = host.stage(base, { interfaces: withExtraAddress });
    verifiedPending(await host.apply(staged, { prelude: stuck.prelude }));
    expect(await addresses(host, "vmbr1")).toEqual(["10.0.0.2/24", EXTRA]);
    ready();
    // The dead-man switch's ifreload (the next one) hangs; the switch and it are killed.
    stuck.hang(1);
    const watchdog = watchdogPid(host);
    await waitUntil("the dead-man switch's ifreload", () => stuck.hung().length > 0, BUDGET.deadman);
    const reload = stuck.hung()[0]!;
    const group = Number(procStat(reload)![2]);
    expect(group).not.toBe(Number(procStat(process.pid)![2])); // never the test's own group
    process.kill(watchdog, "SIGKILL");
    process.kill(-group, "SIGKILL");
    await waitUntil("the dead-man switch to die", () => !running(watchdog) && !running(reload), 10);

    // The file is back, the network is not: the marker says so and keeps the job.
    expect(host.live).toBe(baseFile);
    expect(await addresses(host, "vmbr1")).toEqual(["10.0.0.2/24", EXTRA]);
    expect(marker(host).PHASE).toBe("rollback");
    const status = (await host.program("status")).stdout;
    expect(status).toMatch(/^pending:/);
    expect(status).toMatch(/the rollback of run \S+ has begun and is not finished/);
    cleanEtc(host);

    const finished = await host.program("rollback");
    expect(finished.stdout).toMatch(/rolling back: finishing an interrupted rollback \(not confirmed within the confirm timeout \(dead-man switch\)\)/);
    expect(finished.stdout).toMatch(/already is the file from before the change: reloading it/);
    expect(finished.status).toBe(2);
    await unchanged(host);
    nothingPending(host);
  }, { waitsForDeadman: true });

  labTest("a rollback that leaves the network other than it was (a default route added by hand meanwhile): ROLLBACK INCOMPLETE, still pending; `rollback` finishes once it is gone", async (host) => {
    const staged = host.stage(base, { interfaces: withExtraAddress, times: ROOMY });
    verifiedPending(await host.apply(staged));
    // Outside ifupdown2's files, so its reload of the old file leaves it.
    const route = `default via ${LAN.gateway} dev vmbr0 metric 200`;
    expect((await host.lab.inHost(`ip route add ${route}`)).status).toBe(0);
    const first = await host.program("rollback");
    expect(first.stdout).toContain(`not there before the change: route ${route}`);
    expect(first.stdout).toMatch(/ROLLBACK INCOMPLETE: the previous \S+ is back and reloaded, but the network differs from before the change/);
    expect(first.status).toBe(3);
    expect(host.live).toBe(baseFile);
    expect((await host.program("status")).stdout).toMatch(/^pending:/);
    expect((await host.lab.inHost(`ip route del ${route}`)).status).toBe(0);
    // Held once the marker is gone and the result written: the result already says how the run
    // ended, never an interim line that the program's last words would replace (a reader such as
    // `status`, or the lab waiting for the dead-man switch, could catch that line in between).
    const second = host.program("rollback", { env: { PVE_DUALNET_PAUSE_AT: "rollback-recorded" } });
    await waitForLog(host, /checkpoint rollback-recorded/, BUDGET.checkpoint);
    const recorded = readdirSync(host.stateDir("network", "runs")).map((run) => readFileSync(runFile(host, run, "result"), "utf8"));
    host.resume();
    expect(recorded).toEqual(["2 rolled back: the previous network is live, as it was before the change\n"]);
    expect((await second).status).toBe(2);
    await unchanged(host);
    nothingPending(host);
  });

  labTest("ifreload hangs in the apply: killed at its time limit, the run rolls back by itself", async (host, ready) => {
    // Nothing here races the clock: a stuck reload is killed, however busy the machine.
    ready();
    const stuck = host.stuckIfreload(1);
    const run = host.apply(host.stage(base, { interfaces: withExtraAddress, times: BRIEF }), { prelude: stuck.prelude });
    const result = await within("the apply", run, BUDGET.deadman);
    expect(stuck.hung()).toHaveLength(1);
    expect(result.stdout).toMatch(/ifreload -a did not finish within \d+ s: killed/);
    expect(result.stdout).toMatch(/rolled back: ifreload -a failed\. The previous network is live, as it was before the change\./);
    expect(result.status).toBe(2);
    expect(running(stuck.hung()[0]!)).toBe(false);
    await unchanged(host);
    nothingPending(host);
  }, { waitsForDeadman: true });

  labTest("a run stuck after the switch (SIGSTOP), holding the lock: its dead-man switch preempts it and rolls back", async (host, ready) => {
    const run = host.apply(host.stage(base, { interfaces: withExtraAddress, times: BRIEF }));
    await waitForLog(host, /checkpoint switched/, BUDGET.checkpoint);
    process.kill(run.pid!, "SIGSTOP");
    ready();
    await waitForLog(host, DEADMAN_DONE, BUDGET.deadman);
    expect(runLog(host)).toMatch(/preempting pid \d+ \(armed phase of run \S+\): it still holds the network lock/);
    const stopped = await within("the stopped apply", run, 10);
    expect(stopped.signal).toBe("SIGKILL");
    await unchanged(host);
    nothingPending(host);
  }, { waitsForDeadman: true });

  labTest("confirm with a read-only state directory: not confirmed, loudly; the dead-man switch rolls back", async (host, ready) => {
    const staged = host.stage(base, { interfaces: withExtraAddress });
    verifiedPending(await host.apply(staged));
    const confirmed = await host.confirm(staged, { prelude: "mount -o remount,bind,ro /var/lib/pve-dualnet && " });
    expect(confirmed.stdout).toMatch(/NOT CONFIRMED: could not record the confirmation in \/var\/lib\/pve-dualnet\/network \(read-only or full\?\)\. The change stays with its dead-man switch, which rolls it back at \d\d:\d\d:\d\d/);
    expect(confirmed.status).toBe(1);
    ready();
    expect(marker(host).RUN).toBeDefined();
    await waitForLog(host, DEADMAN_DONE, BUDGET.deadman);
    await unchanged(host);
    nothingPending(host);
  }, { waitsForDeadman: true });

  labTest("the Proxmox GUI applies its own file during the window, then confirm: the GUI's file stays, a copy is kept, nothing rolled back", async (host) => {
    const staged = host.stage(commented("pve-dualnet's change"), { times: ROOMY });
    verifiedPending(await host.apply(staged));
    const run = marker(host).RUN!;
    const watchdog = watchdogPid(host);
    // The GUI's "Apply Configuration": interfaces.new over interfaces, then ifreload -a.
    const gui = `${staged.interfaces}# edited and applied in the GUI\n`;
    writeFileSync(host.lab.sandbox.file("/etc/network", "interfaces.new"), gui);
    expect((await host.lab.run("mv /etc/network/interfaces.new /etc/network/interfaces && ifreload -a")).status).toBe(0);
    const confirmed = await host.confirm(staged);
    expect(confirmed.stdout).toMatch(/NOT CONFIRMED: \/etc\/network\/interfaces was replaced during the confirm window by someone else \(the Proxmox GUI\?\), not by this change\. It stays live as it is \(a copy: \S+interfaces\.live-at-confirm\); nothing was rolled back/);
    expect(confirmed.status).toBe(1);
    expect(host.live).toBe(gui);
    expect(readFileSync(runFile(host, run, "interfaces.live-at-confirm"), "utf8")).toBe(gui);
    expect(await host.defaultRoutes()).toEqual([{ gateway: LAN.gateway, dev: "vmbr0" }]);
    nothingPending(host);
    // The dead-man switch is disarmed: nothing will roll the GUI's file back.
    await waitUntil("the dead-man switch to stop", () => !running(watchdog), 10);
    cleanEtc(host);
  });

  labTest("the lock file cannot be opened: an apply refuses (nothing changed); a dead-man switch rolls back without it", async (host, ready) => {
    const lock = host.lab.sandbox.file("/run/pve-dualnet", "network.lock");
    mkdirSync(lock);
    const refused = await host.apply(host.stage(base, { interfaces: withExtraAddress }));
    expect(refused.stdout).toMatch(/refused: cannot open the lock \/run\/pve-dualnet\/network\.lock .*; nothing changed/);
    expect(refused.status).toBe(1);
    await unchanged(host);
    rmdirSync(lock);

    verifiedPending(await host.apply(host.stage(base, { interfaces: withExtraAddress })));
    rmSync(lock);
    mkdirSync(lock);
    ready();
    await waitForLog(host, DEADMAN_DONE, BUDGET.deadman);
    expect(runLog(host)).toMatch(/cannot open the lock \/run\/pve-dualnet\/network\.lock: rolling back without it/);
    await unchanged(host);
    nothingPending(host);
  }, { waitsForDeadman: true });

  labTest("liveness by pid and start time: a reused pid or a zombie is no dead-man switch", async (host) => {
    // A reused pid: the dead-man switch died, an unrelated process got its number.
    const first = host.stage(commented("first"), { times: ROOMY });
    verifiedPending(await host.apply(first));
    process.kill(watchdogPid(host), "SIGKILL");
    const decoy = Number((await host.lab.inHost("sleep 120 </dev/null >/dev/null 2>&1 & echo $!")).stdout.trim());
    rewriteMarker(host, (m) => m.replace(/^WATCHDOG=pid:\d+/m, `WATCHDOG=pid:${decoy}`));
    expect((await host.program("status")).stdout).toMatch(/the dead-man switch is GONE/);
    const confirmed = await host.confirm(first);
    expect(confirmed.status).toBe(0);
    expect(running(decoy)).toBe(true); // not sent a TERM as "the watchdog"
    expect(host.live).toBe(first.interfaces);

    // A zombie: the dead-man switch exited, its parent has not reaped it.
    const second = host.stage(commented("second"), { times: ROOMY });
    verifiedPending(await host.apply(second));
    process.kill(watchdogPid(host), "SIGKILL");
    const parent = Number((await host.lab.inHost("sh -c 'sleep 0 & exec sleep 120' </dev/null >/dev/null 2>&1 & echo $!")).stdout.trim());
    let zombie = 0;
    await waitUntil("a zombie", () => {
      const children = readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8").trim().split(" ").filter(Boolean).map(Number);
      zombie = children.find((pid) => procStat(pid)?.[0] === "Z") ?? 0;
      return zombie > 0;
    }, 10);
    // Its true start time where the marker records one.
    rewriteMarker(host, (m) => m.replace(/^WATCHDOG=pid:\d+(:\d+)?$/m, (_, start) => `WATCHDOG=pid:${zombie}${start ? `:${procStat(zombie)![19]}` : ""}`));
    // The next apply (of a file ifupdown2 rejects) rolls the orphaned change back first.
    const next = await host.apply(host.stage(base, { interfaces: baseFile.replace("bridge-stp off", "bridge-stp maybe") }));
    expect(next.stdout).toMatch(/run \S+ was never confirmed and its dead-man switch is gone or overdue: rolling it back first/);
    expect(next.stdout).toMatch(/syntax check of the new file failed/);
    expect(next.status).toBe(1);
    expect(host.live).toBe(first.interfaces);
    nothingPending(host);
    cleanEtc(host);
    process.kill(decoy, "SIGKILL");
    process.kill(parent, "SIGKILL");
  });

  // ---------------------------------------------------------------------------------------------
  // The boot guard: only in a new boot, before pvenetcommit and networking
  // ---------------------------------------------------------------------------------------------

  labTest("a reboot inside the confirm window with GUI changes pending: the guard restores the file and sets the GUI's aside, pvenetcommit has nothing to bring back", async (host) => {
    const staged = host.stage(base, { times: ROOMY, interfaces: withExtraAddress });
    verifiedPending(await host.apply(staged));
    const run = marker(host).RUN!;
    const gui = `${staged.interfaces}# edited in the GUI\n`;
    writeFileSync(host.lab.sandbox.file("/etc/network", "interfaces.new"), gui);
    // The reboot: the dead-man switch dies with the old boot; the guard runs in the new one.
    process.kill(watchdogPid(host), "SIGKILL");
    const guard = await host.program("boot-guard", { env: host.newBoot() });
    expect(guard.stdout).toMatch(/saved to \S+interfaces\.new\.from-gui and removed/);
    expect(guard.stdout).toMatch(/boot guard: restored the file run \S+ replaced/);
    expect(guard.status).toBe(2);
    expect(host.live).toBe(baseFile);
    expect(readFileSync(runFile(host, run, "interfaces.new.from-gui"), "utf8")).toBe(gui);
    // Then pvenetcommit (moves interfaces.new into place if there is one) and networking.service.
    expect((await host.lab.run('[ ! -f /etc/network/interfaces.new ] || mv /etc/network/interfaces.new /etc/network/interfaces; ifreload -a')).status).toBe(0);
    await unchanged(host);
    nothingPending(host);
    // A second start in the same boot finds nothing.
    expect((await host.program("boot-guard", { env: host.newBoot() })).status).toBe(0);
  });

  labTest("the boot guard started during an apply, in the same boot, changes nothing", async (host) => {
    const staged = host.stage(commented("guarded"), { times: ROOMY });
    const run = host.apply(staged, { pauseAt: "switched" });
    await waitForLog(host, /checkpoint switched/, BUDGET.checkpoint);
    const guard = await host.program("boot-guard");
    expect(guard.stdout).toMatch(/boot guard: the pending change of run \S+ was made in this boot: nothing to do/);
    expect(guard.status).toBe(0);
    expect(host.live).toBe(staged.interfaces);
    expect(marker(host).PHASE).toBe("armed");
    host.resume();
    const applied = await run;
    expect(applied.stdout).toMatch(/verified; awaiting confirmation/);
    expect(applied.status).toBe(0);
    expect((await host.confirm(staged)).status).toBe(0);
    expect(host.live).toBe(staged.interfaces);
    nothingPending(host);
    cleanEtc(host);
  });
});

(canRun ? describe : describe.skip)("host/pve-dualnet-network.sh as shipped", () => {
  const host = path.join(__dirname, "..", "host");
  const read = (name: string) => readFileSync(path.join(host, name), "utf8");

  it("lists every command in its usage", async () => {
    const { spawnSync } = await import("node:child_process");
    const usage = spawnSync("sh", [path.join(host, "pve-dualnet-network.sh")], { encoding: "utf8" });
    expect(usage.status).toBe(1);
    for (const command of ["apply", "confirm", "rollback", "expire", "watchdog", "boot-guard", "status"]) expect(usage.stderr).toMatch(new RegExp(`\\b${command}\\b`));
  });

  it("refuses without its library beside it, before anything changes", async () => {
    const { mkdtempSync, copyFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { spawnSync } = await import("node:child_process");
    const dir = mkdtempSync(path.join(tmpdir(), "pvdn-nolib-"));
    try {
      copyFileSync(path.join(host, "pve-dualnet-network.sh"), path.join(dir, "pve-dualnet-network.sh"));
      const run = spawnSync("sh", [path.join(dir, "pve-dualnet-network.sh"), "status"], { encoding: "utf8" });
      expect(run.stdout).toMatch(/refused: \S+pve-dualnet-lib\.sh is missing .*; nothing changed/);
      expect(run.status).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** The real boot order is tested in the QEMU lab; here, what the unit and the timer declare. */
  it("enables the boot guard into sysinit.target, before pvenetcommit and networking, active for the rest of the boot", () => {
    const unit = read("pve-dualnet-network-guard.service");
    const values = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].flatMap((m) => m[1]!.split(/\s+/));
    expect(values("WantedBy")).toEqual(["sysinit.target"]);
    expect(values("Before")).toEqual(expect.arrayContaining(["sysinit.target", "pvenetcommit.service", "networking.service"]));
    expect(values("DefaultDependencies")).toEqual(["no"]);
    expect(values("RemainAfterExit")).toEqual(["yes"]);
    expect(values("SuccessExitStatus")).toEqual(["2"]);
    expect(unit).not.toMatch(/^Condition/m);
    // The transient dead-man timer's service counts "rolled back" (2) as success.
    expect(read("pve-dualnet-network.sh")).toMatch(/systemd-run [^\n]*\\\n[^\n]*\\\n\s*-p SuccessExitStatus=2 /);
  });
});
