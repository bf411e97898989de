/**
 * The dead-man switch on a real systemd host, through real Terraform and SSH.
 *
 * A Proxmox-like host (lab/pve-host-vm.ts: systemd as PID 1, ifupdown2's networking.service,
 * sshd, a stand-in for Proxmox's pvenetcommit.service, NICs enp4s0/enp5s0 behind vmbr0/vmbr1)
 * boots with an earlier /etc/network/interfaces: the lab description with the internal network
 * at MTU 1500 (file A). `cdktf deploy host-network` (the real cdktf CLI and terraform 1.11,
 * hashicorp/local's stand-in for the review copies) runs from the lan namespace, the router's
 * side, over SSH as root with the lab key (TF_VAR_ssh_private_key), and switches the host to the
 * same description with jumbo frames on vmbr1 (file B: enp5s0 and vmbr1 at MTU 9000) or back.
 * confirmTimeout is 20 s, the least the schema allows, verifyTimeout 5 s (confirm - 15 s).
 *
 * Scenarios, on one host per image where they can share it (each starts from a settled host):
 *   1. happy path: applied, confirmed over a new connection, the transient timer gone; a reboot
 *      keeps the file (the guard does nothing)
 *   5. the guard is not started again by an apply in the same boot (after a boot that ran it)
 *   2. never confirmed: Terraform killed right after "awaiting confirmation": the systemd timer
 *      rolls back at the deadline and its service ends as a success
 *   6. SSH dropped right after the switch (Terraform's connection reset): the run goes on, the
 *      timer rolls back, cdktf reports the failure, the host stays reachable
 *   7. ifreload hanging for real (an ifupdown2 hook): killed at its limit, rolled back; the timer
 *      finds the rollback done or in progress, never a stuck run
 *   3. `systemctl reboot` inside the confirm window: the boot guard restores the previous file
 *      before pvenetcommit and networking, and the network comes up from it
 *   4. the Proxmox GUI writes interfaces.new inside the window, then a hard reset (QMP
 *      system_reset): the old file comes back, interfaces.new is set aside, pvenetcommit has
 *      nothing to put back
 * On trixie (Proxmox VE 9's base) all of them; on bookworm (Proxmox VE 8's) 1 and 3.
 * PVE_DUALNET_LAB_RELEASES (default bookworm,trixie) narrows the images.
 *
 * Every scenario asserts the live file's bytes, addresses, MTUs and the one default route
 * (`ip -j` in the guest), what is left in /etc/network, cdktf's exit and output, `systemctl
 * --failed` and the state under /var/lib/pve-dualnet.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { canRunLabs } from "../__tests__/lab/netlab";
import type { Release } from "./image";
import { BridgedNetwork, INTERNAL_MTU, LAN } from "./network";
import { canBootGuests, type Vm } from "./qemu";
import {
  HANG_TOKEN,
  HostNetworkProject,
  labDescription,
  PVE,
  renderedInterfaces,
  resetSshConnections,
  sleep,
  startProxmoxHost,
  stateChange,
  userView,
  type Deploy,
  type DeployResult,
} from "./pve-host-vm";

const HOST_DIR = path.join(__dirname, "..", "host");
const GUARD = "pve-dualnet-network-guard.service";
const STATE = "/var/lib/pve-dualnet/network";
const RELEASES = (process.env.PVE_DUALNET_LAB_RELEASES?.split(",") ?? ["bookworm", "trixie"]) as Release[];

// ---------------------------------------------------------------------------
// Timings, reported at the end
// ---------------------------------------------------------------------------

const timings: [string, number][] = [];
/** What the lab had to do besides the scenarios (printed at the end). */
const notes: string[] = [];
async function timed<T>(name: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await run();
  } finally {
    timings.push([name, Date.now() - started]);
  }
}

// ---------------------------------------------------------------------------
// The host as the tests see it
// ---------------------------------------------------------------------------

interface IpLink {
  readonly ifname: string;
  readonly mtu: number;
  readonly master?: string;
  readonly operstate: string;
  readonly addr_info: readonly { readonly family: string; readonly local: string; readonly prefixlen: number }[];
}

interface HostState {
  readonly live: string;
  readonly etcNetwork: string[];
  readonly links: Record<string, IpLink>;
  readonly routes: { dst: string; gateway?: string; dev: string }[];
  readonly failed: string;
  readonly marker: Record<string, string> | undefined;
  /** run id -> its result line. */
  readonly runs: Record<string, string>;
  readonly expireUnits: string;
  readonly bootId: string;
  readonly vrfMapDir: boolean;
}

async function sh(vm: Vm, command: string, timeoutMs = 60_000): Promise<string> {
  const r = await vm.ssh(command, { timeoutMs });
  if (r.status !== 0) throw new Error(`${command} (in the guest) exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

const sha256 = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

const parseKv = (text: string) => Object.fromEntries(text.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));

/** Everything the scenarios assert about the host, in one SSH round trip. */
async function hostState(vm: Vm): Promise<HostState> {
  const out = await sh(
    vm,
    `echo @@live; base64 -w0 /etc/network/interfaces; echo
     echo @@etc; ls -A /etc/network
     echo @@addr; ip -j addr show
     echo @@route; ip -j -4 route show default; ip -j -6 route show default
     echo @@failed; systemctl --failed --plain --no-legend
     echo @@marker; cat ${STATE}/pending 2>/dev/null
     echo @@runs; for r in ${STATE}/runs/*/; do [ -d "$r" ] && r=\${r%/} && printf '%s %s\\n' "\${r##*/}" "$(head -n 1 "$r/result" 2>/dev/null)"; done
     echo @@expire; systemctl list-units --all --plain --no-legend 'pve-dualnet-expire-*'
     echo @@boot; cat /proc/sys/kernel/random/boot_id
     echo @@vrf; [ -d /etc/iproute2/rt_tables.d ] && echo yes; echo @@end`,
  );
  const sections = Object.fromEntries(
    out
      .split(/^@@/m)
      .slice(1)
      .map((s) => [s.slice(0, s.indexOf("\n")), s.slice(s.indexOf("\n") + 1)]),
  );
  const links: IpLink[] = JSON.parse(sections.addr!);
  const routes = sections
    .route!.split("\n")
    .filter((l: string) => l.trim())
    .flatMap((l: string) => JSON.parse(l));
  return {
    live: Buffer.from(sections.live!.trim(), "base64").toString("utf8"),
    etcNetwork: sections.etc!.split("\n").filter(Boolean).sort(),
    links: Object.fromEntries(links.map((l) => [l.ifname, l])),
    routes,
    failed: sections.failed!.trim(),
    marker: sections.marker!.trim() ? parseKv(sections.marker!) : undefined,
    runs: Object.fromEntries(
      sections
        .runs!.split("\n")
        .filter(Boolean)
        .map((l: string) => [l.slice(0, l.indexOf(" ")), l.slice(l.indexOf(" ") + 1)]),
    ),
    expireUnits: sections.expire!.trim(),
    bootId: sections.boot!.trim(),
    vrfMapDir: sections.vrf!.trim() === "yes",
  };
}

const addresses = (link: IpLink | undefined) => link?.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);

/** /etc/network of a settled host: ifupdown2's own files, the live file, the lab's hook directory; nothing staged, no interfaces.new. */
const SETTLED_ETC = ["if-down.d", "if-post-down.d", "if-pre-up.d", "if-up.d", "ifupdown2", "interfaces", "interfaces.d", "run"];

/** A settled host whose live file is `file`, its network as `file` makes it (internal MTU `mtu`). */
function expectSettled(state: HostState, file: string, mtu: number): void {
  expect(state.live).toBe(file);
  const { links } = state;
  expect(Object.keys(links).sort()).toEqual(["enp4s0", "enp5s0", "lo", "vmbr0", "vmbr1"]);
  expect([links.enp4s0!.master, links.enp5s0!.master]).toEqual(["vmbr0", "vmbr1"]);
  expect({ enp4s0: links.enp4s0!.mtu, vmbr0: links.vmbr0!.mtu, enp5s0: links.enp5s0!.mtu, vmbr1: links.vmbr1!.mtu }).toEqual({ enp4s0: 1500, vmbr0: 1500, enp5s0: mtu, vmbr1: mtu });
  expect(addresses(links.vmbr0)).toEqual([`${PVE.external}/24`]);
  expect(addresses(links.vmbr1)).toEqual([`${PVE.internal}/24`]);
  expect(state.routes).toEqual([expect.objectContaining({ dst: "default", gateway: LAN.gateway, dev: "vmbr0" })]);
  expect(state.etcNetwork).toEqual(SETTLED_ETC);
  expect(state.failed).toBe("");
  expect(state.marker).toBeUndefined();
  expect(state.expireUnits).toBe("");
}

/** The run directories that appeared since `before`. */
const newRuns = (before: HostState, after: HostState) => Object.keys(after.runs).filter((r) => !(r in before.runs));

async function unitProps(vm: Vm, unit: string, props: string[]): Promise<Record<string, string>> {
  return parseKv(await sh(vm, `systemctl show ${props.map((p) => `-p ${p}`).join(" ")} ${unit}`));
}

const journal = (vm: Vm, args: string) => sh(vm, `journalctl --no-pager ${args}`);

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(500);
  }
}

/**
 * Polls the host until the log of a run that is not in `before` matches `pattern`; resolves with
 * the run and its log. `stop()` ends the polling (its promise then never resolves).
 */
function hostLogMatch(vm: Vm, before: HostState, pattern: RegExp, timeoutMs: number) {
  let stopped = false;
  const promise = (async () => {
    const deadline = Date.now() + timeoutMs;
    while (!stopped) {
      const r = await vm.ssh(`for l in ${STATE}/runs/*/log; do echo "@@$l"; cat "$l"; done 2>/dev/null`, { timeoutMs: 20_000 });
      for (const part of r.stdout.split("@@").slice(1)) {
        const file = part.slice(0, part.indexOf("\n"));
        const run = file.split("/").slice(-2)[0]!;
        const log = part.slice(part.indexOf("\n") + 1);
        if (!(run in before.runs) && pattern.test(log)) return { run, log };
      }
      if (Date.now() > deadline) throw new Error(`no run log matched ${pattern} within ${timeoutMs} ms`);
      await sleep(300);
    }
    return new Promise<never>(() => {});
  })();
  return { promise, stop: () => (stopped = true) };
}

/**
 * Waits for a step of the apply, whichever shows it first: cdktf's output (what the user sees) or
 * the run's log on the host (polled over the lab's own SSH connection). Returns who saw it.
 */
async function firstSight(d: Deploy, vm: Vm, before: HostState, cdktf: RegExp, host: RegExp, timeoutMs = 600_000): Promise<"cdktf" | "host"> {
  const polling = hostLogMatch(vm, before, host, timeoutMs);
  try {
    return await Promise.race([d.waitFor(cdktf, timeoutMs).then(() => "cdktf" as const), polling.promise.then(() => "host" as const)]);
  } finally {
    polling.stop();
  }
}

/** Runs `check`; a failure carries what the user saw of cdktf deploy. */
async function withOutput<T>(result: DeployResult | Deploy, check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (e) {
    (e as Error).message += `\n--- cdktf deploy, as the user saw it ---\n${userView(result.output)}`;
    throw e;
  }
}

/** The host is reachable: the router pings it and SSH answers. */
async function reachable(vm: Vm): Promise<void> {
  expect((await vm.ssh("true", { timeoutMs: 20_000 })).status).toBe(0);
}

/** Waits until no change is pending and no expire unit is loaded: the dead-man switch has done its job. */
async function settled(vm: Vm, timeoutMs: number): Promise<HostState> {
  return until("the pending change to be rolled back by its dead-man switch", timeoutMs, async () => {
    const state = await hostState(vm);
    return !state.marker && state.expireUnits === "" ? state : undefined;
  });
}

/** The boot guard, pvenetcommit and networking of this boot: each ran, in that order. */
async function bootOrder(vm: Vm) {
  const props = ["ActiveState", "SubState", "Result", "ExecMainStatus", "InactiveExitTimestampMonotonic", "ActiveEnterTimestampMonotonic"];
  const [guard, commit, networking] = await Promise.all([GUARD, "pvenetcommit.service", "networking.service"].map((u) => unitProps(vm, u, props)));
  for (const unit of [guard, commit, networking]) expect(unit).toMatchObject({ ActiveState: "active", Result: "success" });
  expect(Number(guard!.ActiveEnterTimestampMonotonic)).toBeGreaterThan(0);
  // The guard had finished (oneshot: active once its ExecStart= exited) before either began.
  expect(Number(guard!.ActiveEnterTimestampMonotonic)).toBeLessThanOrEqual(Number(commit!.InactiveExitTimestampMonotonic));
  expect(Number(guard!.ActiveEnterTimestampMonotonic)).toBeLessThanOrEqual(Number(networking!.InactiveExitTimestampMonotonic));
  const log = await journal(vm, `-b -o short-monotonic -u ${GUARD} -u pvenetcommit.service -u networking.service`);
  return { guard: guard!, commit: commit!, networking: networking!, log };
}

function expectDeployed(result: DeployResult): void {
  if (result.status !== 0) throw new Error(`cdktf deploy exited ${result.status ?? result.signal}:\n${userView(result.output)}`);
}

/** The installed programs are the repository's. */
async function expectInstalled(vm: Vm): Promise<void> {
  const installed = await sh(vm, "sha256sum /var/lib/pve-dualnet/bin/pve-dualnet-network.sh /var/lib/pve-dualnet/bin/pve-dualnet-lib.sh /etc/systemd/system/pve-dualnet-network-guard.service");
  const sha = (f: string) => sha256(readFileSync(path.join(HOST_DIR, f)));
  expect(installed.split("\n").filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual([sha("pve-dualnet-network.sh"), sha("pve-dualnet-lib.sh"), sha(GUARD)]);
}

// ---------------------------------------------------------------------------
// One image: a host, a project, the scenarios
// ---------------------------------------------------------------------------

interface Lab {
  net: BridgedNetwork;
  vm: Vm;
  project: HostNetworkProject;
  /** file A (MTU 1500 inside) and file B (jumbo frames inside), as pve-dualnet renders them. */
  files: { 1500: string; 9000: string };
  descriptions: { 1500: string; 9000: string };
  /** The deploy the current scenario started, killed after it if it still runs. */
  current?: Deploy;
}

function hostLab(release: Release, scenarios: "all" | "boot") {
  const lab = {} as Lab;
  const label = (name: string) => `${release}: ${name}`;
  const step = <T>(name: string, run: () => Promise<T>) => timed(label(name), run);

  /**
   * After a deploy that was killed once the apply step had begun, Terraform's state may record the
   * network apply as done (Terraform writes a new object to state before its provisioners run,
   * and marks it tainted only when one fails: a SIGKILL leaves it as it was, and the state is
   * persisted during the apply), while the host rolled the change back. The next deploy would then
   * find nothing to do (scenario 2b). Before every deploy the lab does what the user must: when
   * the state claims a file the host does not run, `terraform taint` the network apply.
   */
  const reconcile = async () => {
    const claim = lab.project.networkApplyInState();
    if (!claim || claim.tainted) return;
    const live = (await sh(lab.vm, "sha256sum /etc/network/interfaces")).split(" ")[0]!;
    if (claim.interfacesSha === live) return;
    const tainted = await lab.project.terraform(["taint", "-no-color", claim.address]);
    if (tainted.status !== 0) throw new Error(`terraform taint ${claim.address}: ${tainted.output}`);
    notes.push(`${release}: the state recorded ${claim.address} with interfaces ${claim.interfacesSha.slice(0, 12)} as applied, the host runs ${live.slice(0, 12)}: tainted it before the next deploy`);
  };

  /** Deploys the description with internal MTU `mtu`, as a user does after editing it. */
  const deploy = async (mtu: 1500 | 9000): Promise<Deploy> => {
    await reconcile();
    lab.project.describe(lab.descriptions[mtu]);
    lab.current = await lab.project.deploy();
    return lab.current;
  };

  /**
   * Deploys `mtu`, and SIGKILLs cdktf and terraform as soon as the apply step printed that the
   * change awaits confirmation: the confirming connection never comes. Returns the pending marker.
   */
  const deployAndKill = async (mtu: 1500 | 9000) => {
    const before = await hostState(lab.vm);
    const d = await deploy(mtu);
    const awaiting = /verified; awaiting confirmation until/;
    const seenBy = await firstSight(d, lab.vm, before, awaiting, awaiting);
    const killed = d.kill();
    const result = await d.done;
    notes.push(`${release}: Terraform killed ${d.seenAt(awaiting) === undefined ? "before cdktf showed" : "after cdktf showed"} "awaiting confirmation" (first seen in ${seenBy === "cdktf" ? "cdktf's output" : "the host's run log"})`);
    return withOutput(result, async () => {
      expect(result.signal ?? result.status).toBe("SIGKILL");
      expect(killed.length).toBeGreaterThan(1);
      // Precondition of these scenarios: the confirm never ran (the marker is there, armed).
      const state = await hostState(lab.vm);
      expect(state.marker).toMatchObject({ PHASE: "armed", BOOT_ID: state.bootId });
      expect(state.live).toBe(lab.files[mtu]);
      expect(userView(result.output)).not.toMatch(/confirmed over a new connection/);
      return { state, marker: state.marker!, output: userView(result.output) };
    });
  };

  describe(`${release} (Proxmox VE ${release === "trixie" ? 9 : 8}'s base)`, () => {
    beforeAll(async () => {
      const started = Date.now();
      lab.descriptions = { 1500: labDescription({ release, internalMtu: 1500 }), 9000: labDescription({ release, internalMtu: 9000 }) };
      const [a, b] = await Promise.all([renderedInterfaces(lab.descriptions[1500]), renderedInterfaces(lab.descriptions[9000])]);
      lab.files = { 1500: a, 9000: b };
      lab.net = await BridgedNetwork.create();
      lab.project = await HostNetworkProject.create(lab.net.lan);
      lab.vm = await startProxmoxHost({ image: release, net: lab.net, interfaces: a });
      timings.push([label("wait for a guest slot (other labs on the machine)"), lab.vm.queuedMs]);
      timings.push([label("boot the host (A: internal MTU 1500)"), Date.now() - started - lab.vm.queuedMs]);
      const state = await hostState(lab.vm);
      expectSettled(state, a, 1500);
      expect(Object.keys(state.runs)).toEqual([]);
    });

    // A scenario that failed half-way must not leave its deploy running, or its change pending,
    // for the next one.
    afterEach(async () => {
      if (lab.current?.alive) lab.current.kill();
      lab.current = undefined;
      if (!lab.vm?.isRunning) return;
      await lab.vm.ssh(`rm -f ${HANG_TOKEN}`);
      await settled(lab.vm, 180_000).catch((e) => notes.push(`${release}: the host did not settle after a scenario: ${e}`));
    });

    afterAll(async () => {
      await lab.vm?.stop({ timeoutMs: 30_000 });
      await lab.project?.destroy();
      await lab.net?.destroy();
    });

    test("1. happy path: applied, confirmed over a new SSH connection, the timer gone; a reboot keeps the file and the guard does nothing", async () => {
      const { vm } = lab;
      const before = await hostState(vm);
      expect((await unitProps(vm, GUARD, ["LoadState"])).LoadState).toBe("not-found");
      const stateBefore = lab.project.stateInstances();
      const result = await step("1. deploy B (jumbo frames inside), confirmed", async () => (await deploy(9000)).done);
      expectDeployed(result);
      // Terraform's "6 added, 0 changed, 0 destroyed", read from the state.
      expect(stateChange(stateBefore, lab.project.stateInstances())).toEqual({ added: 6, replaced: 0, removed: 0 });
      notes.push(`${release}, 1: the apply step printed "awaiting confirmation" ${((result.ms - (lab.current!.seenAt(/verified; awaiting confirmation/) ?? 0)) / 1000).toFixed(1)} s before cdktf ended; confirmed ${((lab.current!.seenAt(/confirmed over a new connection/)! - lab.current!.seenAt(/verified; awaiting confirmation/)!) / 1000).toFixed(1)} s after it`);
      const seen = userView(result.output);
      // The confirm came over a connection of its own, opened after the apply's had ended.
      const order = [/verified; awaiting confirmation until/, /Provisioning with 'remote-exec'\.\.\./, /Connecting to remote host via SSH/, /Connected!/, /confirmed over a new connection: the new network is live/];
      let at = 0;
      for (const pattern of order) {
        const found = seen.slice(at).search(pattern);
        expect({ pattern: String(pattern), found: found >= 0 }).toEqual({ pattern: String(pattern), found: true });
        at += found + 1;
      }
      expect(seen).toMatch(/sysctl verified: \d+ values read back/);

      const after = await hostState(vm);
      expectSettled(after, lab.files[9000], INTERNAL_MTU);
      const [run] = newRuns(before, after);
      expect(after.runs[run!]).toBe("0 confirmed over a new connection: the new network is live");
      expect(await sh(vm, `grep -c 'checkpoint switched' ${STATE}/runs/${run}/log`)).toBe("1\n");
      expect((await vm.ssh(`ping -c1 -W5 -M do -s ${INTERNAL_MTU - 28} ${LAN.peer}`)).status).toBe(0);
      await expectInstalled(vm);
      // The dead-man switch: its timer was stopped by the confirm, its service never started.
      const expire = await journal(vm, `-b -o cat -u pve-dualnet-expire-${run}.timer -u pve-dualnet-expire-${run}.service`);
      expect(expire).toMatch(/Started pve-dualnet-expire-\S+\.timer/);
      expect(expire).not.toMatch(/Started pve-dualnet-expire-\S+\.service/);
      expect((await unitProps(vm, `pve-dualnet-expire-${run}.timer`, ["LoadState"])).LoadState).toBe("not-found");
      // The guard unit was installed and enabled; nothing in this boot ran it to any effect.
      const guard = await unitProps(vm, GUARD, ["LoadState", "UnitFileState", "ActiveState", "SubState"]);
      expect(guard).toMatchObject({ LoadState: "loaded", UnitFileState: "enabled" });
      const guardLog = await journal(vm, `-b -o cat -u ${GUARD}`);
      expect(guardLog).not.toMatch(/restored|boot guard: run/);
      notes.push(`${release}, 1: in the boot of the first apply (which installed and enabled the guard, then armed the transient timer) the guard is ${guard.ActiveState}/${guard.SubState}, ${guardLog.match(/^Starting /m) ? "started once in that boot" : "never started in that boot"}`);
      // Debian 13's iproute2 has no /etc/iproute2: the program made the directory ifupdown2 needs.
      const runLog = await sh(vm, `cat ${STATE}/runs/${run}/log`);
      if (!before.vrfMapDir) expect(runLog).toMatch(/created \/etc\/iproute2\/rt_tables\.d \(empty\)/);
      else expect(runLog).not.toMatch(/created \/etc\/iproute2\/rt_tables\.d/);
      expect(before.vrfMapDir).toBe(release !== "trixie");
      expect(after.vrfMapDir).toBe(true);

      await step("1. reboot", () => vm.reboot());
      const rebooted = await hostState(vm);
      expect(rebooted.bootId).not.toBe(after.bootId);
      expectSettled(rebooted, lab.files[9000], INTERNAL_MTU);
      expect(rebooted.runs).toEqual(after.runs);
      const order1 = await bootOrder(vm);
      expect(order1.guard).toMatchObject({ SubState: "exited", ExecMainStatus: "0" });
      expect(await journal(vm, `-b -o cat -u ${GUARD}`)).not.toMatch(/boot guard:/); // nothing pending: it said and did nothing
      expect((await vm.ssh(`ping -c1 -W5 -M do -s ${INTERNAL_MTU - 28} ${LAN.peer}`)).status).toBe(0);
    });

    if (scenarios === "all") {
      test("5. an apply in a boot whose guard already ran does not start the guard again; the marker stays intact until the confirm", async () => {
        const { vm } = lab;
        const guardProps = ["ActiveState", "SubState", "InvocationID", "NRestarts", "ActiveEnterTimestamp", "ActiveEnterTimestampMonotonic", "ExecMainPID"];
        const guardBefore = await unitProps(vm, GUARD, guardProps);
        expect(guardBefore).toMatchObject({ ActiveState: "active", SubState: "exited", NRestarts: "0" });
        const before = await hostState(vm);
        const stateBefore = lab.project.stateInstances();
        const d = await deploy(1500);
        // While the change is pending (after the transient timer was armed, before the confirm):
        const during = await step("5. deploy A until the change is pending", () => until("the change to be pending with its timer armed", 300_000, async () => {
          const out = await vm.ssh(`cat ${STATE}/pending 2>/dev/null; echo @@; systemctl list-units --plain --no-legend 'pve-dualnet-expire-*.timer'`, { timeoutMs: 20_000 });
          const [marker, timers] = out.stdout.split("@@\n");
          const fields = parseKv(marker ?? "");
          return fields.PHASE === "armed" && fields.WATCHDOG?.startsWith("timer:") && timers?.includes(`${fields.WATCHDOG.slice(6)}.timer`) ? fields : undefined;
        }));
        const guardDuring = await unitProps(vm, GUARD, guardProps);
        const result = await step("5. deploy A: until confirmed", () => d.done);
        expectDeployed(result);
        expect(userView(result.output)).toMatch(/confirmed over a new connection: the new network is live/);
        // Terraform's "3 added, 0 changed, 3 destroyed": three replaced, read from the state.
        expect(stateChange(stateBefore, lab.project.stateInstances())).toEqual({ added: 0, replaced: 3, removed: 0 });

        expect(guardDuring).toEqual(guardBefore);
        expect(await unitProps(vm, GUARD, guardProps)).toEqual(guardBefore);
        // One start of the guard in this boot: the one at boot.
        expect((await journal(vm, `-b -o cat -u ${GUARD}`)).match(/^Starting /gm)).toHaveLength(1);
        const after = await hostState(vm);
        expectSettled(after, lab.files[1500], 1500);
        const [run] = newRuns(before, after);
        expect(during).toMatchObject({ RUN: run, PHASE: "armed", BOOT_ID: after.bootId, NEW_SHA: expect.any(String), BACKUP: `${STATE}/runs/${run}/backup` });
        expect(after.runs[run!]).toBe("0 confirmed over a new connection: the new network is live");
      });

      test("2. never confirmed (Terraform killed after 'awaiting confirmation'): the systemd timer rolls back at the deadline, its service ends as a success", async () => {
        const { vm } = lab;
        const before = await hostState(vm);
        const { marker, output } = await step("2. deploy B, killed after the apply step", () => deployAndKill(9000));
        expect(output).toMatch(/dead-man switch armed \(timer:pve-dualnet-expire-/);
        const run = marker.RUN!;
        const after = await step("2. until the timer rolled back", () => settled(vm, (Number(marker.DEADLINE) * 1000 - Date.now()) + 120_000));
        expectSettled(after, lab.files[1500], 1500);
        // Read as soon as the marker is gone: the run's result already holds the dead-man switch's
        // own words (it once held an interim "2 rolled back: <reason>" there for a moment).
        expect(after.runs[run]).toBe("2 dead-man switch: the unconfirmed change was rolled back");
        expect(newRuns(before, after)).toEqual([run]);
        const log = await sh(vm, `cat ${STATE}/runs/${run}/log`);
        expect(log).toMatch(/rolling back: not confirmed within the confirm timeout \(dead-man switch\)/);
        expect(log).not.toMatch(/confirmed over/);
        // The transient service: started by its timer at the deadline, exit status 2 counted as success.
        const unit = `pve-dualnet-expire-${run}`;
        const expire = await journal(vm, `-b -o short-unix -u ${unit}.service -u ${unit}.timer`);
        expect(expire).toMatch(new RegExp(`Started ${unit}\\.service`));
        expect(expire).toMatch(/dead-man switch: the unconfirmed change was rolled back/);
        expect(expire).toMatch(new RegExp(`${unit}\\.service: Deactivated successfully`));
        expect(expire).not.toMatch(/Failed with result/);
        const startedAt = Number(expire.match(new RegExp(`^(\\d+\\.\\d+) .*Started ${unit}\\.service`, "m"))![1]);
        expect(startedAt).toBeGreaterThanOrEqual(Number(marker.DEADLINE) - 1); // AccuracySec=1s
        expect(after.failed).toBe("");
      });

      // KNOWN GAP (constructs/remote-apply.ts, not the host programs): Terraform records the
      // network apply in its state before the apply step runs and marks it tainted only when a
      // step fails; killed with SIGKILL, it leaves the resource as applied, and its periodic state
      // snapshots during the apply have written it. The host rolled the change back, and the next
      // deploy says "No changes". Expected to fail until the stack keeps an unconfirmed change
      // out of the state (or tainted); jest reports it when it starts to pass.
      test.failing("2b. KNOWN GAP: after a deploy killed inside the confirm window, Terraform's state does not record the rolled-back change as applied", async () => {
        const claim = lab.project.networkApplyInState();
        notes.push(`${release}, 2b: after the killed deploy, the state holds ${JSON.stringify(claim)}; file B is ${sha256(lab.files[9000]).slice(0, 12)}, the host runs A`);
        expect(claim).not.toEqual(expect.objectContaining({ interfacesSha: sha256(lab.files[9000]), tainted: false }));
      });

      test("6. SSH dropped right after the switch: the run goes on, the timer rolls back, cdktf reports the failure, the host stays reachable", async () => {
        const { vm } = lab;
        const before = await hostState(vm);
        const d = await deploy(9000);
        const seenBy = await step("6. deploy B until the switch", () => firstSight(d, vm, before, /checkpoint switched/, /checkpoint switched/));
        // The network drops every connection Terraform has to the host (it keeps one per step).
        const reset = await resetSshConnections(lab.net.lan, "terraform");
        const { run, log: atReset } = await hostLogMatch(vm, before, /checkpoint switched/, 20_000).promise;
        notes.push(`${release}, 6: reset ${reset.length} SSH connections of Terraform right after the switch (first seen in ${seenBy === "cdktf" ? "cdktf's output" : "the host's run log"})`);
        const result = await step("6. deploy B: cdktf's end", () => d.done);
        await withOutput(result, async () => {
          expect(reset.length).toBeGreaterThanOrEqual(1);
          expect(atReset).not.toMatch(/awaiting confirmation/); // the reset came before the run was done
          expect(result.status).toBe(1);
          const seen = userView(result.output);
          expect(seen).toMatch(/Error: remote-exec provisioner error/);
          expect(seen).not.toMatch(/awaiting confirmation|confirmed over/);
          await reachable(vm);
          const pending = await hostState(vm);
          const deadline = Number(pending.marker?.DEADLINE ?? 0) * 1000;
          const after = await step("6. until the timer rolled back", () => settled(vm, Math.max(0, deadline - Date.now()) + 150_000));
          expectSettled(after, lab.files[1500], 1500);
          // The run went on without its SSH session: it verified and left the change to the dead-man switch.
          const log = await sh(vm, `cat ${STATE}/runs/${run}/log`);
          expect(log).toMatch(/network verified/);
          expect(log).toMatch(/verified; awaiting confirmation until/);
          expect(log).toMatch(/rolling back: not confirmed within the confirm timeout \(dead-man switch\)/);
          expect(after.runs[run]).toBe("2 dead-man switch: the unconfirmed change was rolled back");
          await reachable(vm);
          expect((await vm.ssh(`ping -c1 -W5 ${LAN.gateway}`)).status).toBe(0);
          // Terraform knows the step failed: the next deploy applies the change again.
          expect(lab.project.networkApplyInState()).toMatchObject({ interfacesSha: sha256(lab.files[9000]), tainted: true });
        });
      });

      test("7. ifreload hanging during the apply: killed at its time limit, rolled back; the timer never waits on a stuck run", async () => {
        const { vm } = lab;
        const before = await hostState(vm);
        await sh(vm, `mkdir -p ${path.posix.dirname(HANG_TOKEN)} && touch ${HANG_TOKEN}`);
        const result = await step("7. deploy B with a hanging ifreload", async () => (await deploy(9000)).done);
        await withOutput(result, () => expect(result.status).toBe(1));
        const seen = userView(result.output);
        expect(seen).toMatch(/ifreload -a did not finish within \d+ s: killed/);
        expect(seen).toMatch(/rolled back: ifreload -a failed\. The previous network is live, as it was before the change\./);
        expect(seen).toMatch(/Process exited with status 2/);
        const after = await step("7. until settled", () => settled(vm, 120_000));
        expectSettled(after, lab.files[1500], 1500);
        const run = newRuns(before, after)[0]!;
        expect(after.runs[run]).toMatch(/^2 rolled back: ifreload -a failed/);
        // The hook hung inside ifupdown2 and died with it: nothing of it is left.
        expect(await journal(vm, "-b -o cat -t pvdn-lab")).toMatch(/ifupdown2 hook: hanging in pre-up of vmbr1/);
        expect((await vm.ssh(`test -e ${HANG_TOKEN} || pgrep -x sleep -a | grep -c 3600`)).stdout.trim()).toBe("0");
        // The dead-man switch fired at the deadline and found the rollback done or running: it waited
        // for the lock held by a rollback with its own time limits, then had nothing to do.
        const unit = `pve-dualnet-expire-${run}`;
        const expire = await journal(vm, `-b -o cat -u ${unit}.service`);
        if (expire.includes(`Started ${unit}.service`)) {
          expect(expire).toMatch(/nothing to roll back: run \S+ was confirmed or rolled back meanwhile|Deactivated successfully/);
          expect(expire).not.toMatch(/preempting|Failed with result/);
        }
        expect(after.failed).toBe("");
        expect((await sh(vm, `cat ${STATE}/runs/${run}/log`)).match(/ifreload -a did not finish/g)).toHaveLength(1);
      });
    }

    test("3. systemctl reboot inside the confirm window: the guard restores the previous file before pvenetcommit and networking", async () => {
      const { vm } = lab;
      const [from, to] = scenarios === "all" ? ([1500, 9000] as const) : ([9000, 1500] as const);
      const before = await hostState(vm);
      expect(before.live).toBe(lab.files[from]);
      const { marker } = await step("3. deploy, killed after the apply step", () => deployAndKill(to));
      const run = marker.RUN!;
      await step("3. reboot", () => vm.reboot());
      const after = await hostState(vm);
      expect(after.bootId).not.toBe(marker.BOOT_ID);
      expectSettled(after, lab.files[from], from);
      expect(after.runs[run]).toBe(`2 boot guard: restored the file run ${run} replaced (its change was never confirmed before the reboot)`);
      // The reboot began inside the window: the dead-man switch never fired in the boot before.
      const previous = await journal(vm, "-b -1 -o cat");
      expect(previous).toMatch(new RegExp(`Started pve-dualnet-expire-${run}\\.timer`));
      expect(previous).not.toMatch(new RegExp(`Started pve-dualnet-expire-${run}\\.service`));
      const order = await bootOrder(vm);
      expect(order.guard).toMatchObject({ SubState: "exited", ExecMainStatus: "2" });
      expect(order.log).toMatch(/boot guard: restored the file run \S+ replaced/);
      console.log(`${release}, scenario 3: boot order (journalctl -b -o short-monotonic)\n${order.log}`);
    });

    if (scenarios === "all") {
      test("4. the Proxmox GUI writes interfaces.new inside the window, then a hard reset: the old file comes back, interfaces.new is set aside, pvenetcommit puts nothing back", async () => {
        const { vm } = lab;
        const { marker } = await step("4. deploy B, killed after the apply step", () => deployAndKill(9000));
        const run = marker.RUN!;
        // What the GUI does (Node > Network, an edit, no Apply): the live file with the edit, as interfaces.new.
        const gui = lab.files[9000].replace("iface vmbr1 inet static\n", "iface vmbr1 inet static\n#edited in the Proxmox GUI\n");
        expect(gui).not.toBe(lab.files[9000]);
        await vm.ssh("cat > /etc/network/interfaces.new && sync", { input: gui, timeoutMs: 20_000 });
        expect(await sh(vm, "cat /etc/network/interfaces.new")).toBe(gui);
        await step("4. hard reset (QMP system_reset)", () => vm.hardReset());
        const after = await hostState(vm);
        expectSettled(after, lab.files[1500], 1500);
        expect(after.runs[run]).toBe(`2 boot guard: restored the file run ${run} replaced (its change was never confirmed before the reboot)`);
        expect(await sh(vm, `cat ${STATE}/runs/${run}/interfaces.new.from-gui`)).toBe(gui);
        const order = await bootOrder(vm);
        expect(order.log).toMatch(/the Proxmox GUI wrote pending changes to \/etc\/network\/interfaces\.new while this change was live/);
        expect(order.commit).toMatchObject({ ExecMainStatus: "0" });
        const previous = await journal(vm, "-b -1 -o cat");
        expect(previous).not.toMatch(new RegExp(`Started pve-dualnet-expire-${run}\\.service`));
        expect(previous).not.toMatch(/Reached target .*Reboot|System is rebooting/); // no shutdown: a reset
        console.log(`${release}, scenario 4: boot order (journalctl -b -o short-monotonic)\n${order.log}`);
      });
    }
  });
}

const canRun = canRunLabs() && canBootGuests();
if (!canRun && process.env.CI) throw new Error("the host lab needs root, iproute2, ifupdown2, qemu-system-x86, qemu-utils, mmdebstrap and genisoimage (see lab/README.md)");

(canRun ? describe : describe.skip)("the host network apply on a real systemd host, through cdktf deploy and SSH", () => {
  const started = Date.now();
  afterAll(() => {
    const width = Math.max(...timings.map(([name]) => name.length));
    const lines = [...timings, ["total", Date.now() - started] as [string, number]].map(([name, ms]) => `  ${name.padEnd(width)}  ${(ms / 1000).toFixed(1).padStart(6)} s`);
    console.log([`host lab (${process.env.PVE_DUALNET_LAB_ACCEL === "kvm" ? "KVM" : "TCG"}), per step:`, ...lines, ...(notes.length ? ["notes:", ...notes.map((n) => `  ${n}`)] : [])].join("\n"));
  });
  if (RELEASES.includes("trixie")) hostLab("trixie", "all");
  if (RELEASES.includes("bookworm")) hostLab("bookworm", "boot");
});
