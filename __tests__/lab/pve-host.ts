/**
 * A Proxmox host in a network lab (see netlab.ts), with pve-dualnet's host programs as they are
 * uploaded: the real host/pve-dualnet-network.sh and -sysctl.sh with their library
 * (host/pve-dualnet-lib.sh), with environment files from the real renderers. Only the times are
 * shortened (through the environment file, as a user would through the cluster description),
 * never the checks.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { ClusterPlan } from "../../config/plan";
import { renderNetworkEnv, renderSysctlEnv, type NetworkApplyTimes } from "../../renderers/host-apply-env";
import { renderInterfaces } from "../../renderers/interfaces";
import { renderSysctlFile, type SysctlFile } from "../../renderers/sysctl";
import { sha256 } from "../../constructs/terraform-text";
import { NetLab } from "./netlab";
import { HOST_PATH, shellQuote, type RunResult } from "./sandbox";

const HOST_DIR = path.join(__dirname, "..", "..", "host");
/** The library both programs source from their own directory: uploaded with each of them. */
export const HOST_LIBRARY = "pve-dualnet-lib.sh";
/** The real ifreload, which the lab's stand-in runs once it has hung as often as it was told. */
const REAL_IFRELOAD = spawnSync("sh", ["-c", "command -v ifreload"], { encoding: "utf8", env: { ...process.env, PATH: HOST_PATH } }).stdout.trim();

/** Options of a program run: a shell prelude (in the run's own mount namespace) and environment. */
export interface RunOptions {
  readonly prelude?: string;
  readonly env?: NodeJS.ProcessEnv;
}
/**
 * Short: up to 6 s to verify after the switch (ifreload takes 1-2 s on an idle 2-core machine),
 * and 20 s from the switch to the dead-man switch, the least the validator allows (verify + 15 s
 * for an SSH reconnect): on a machine busy with many labs a reload takes up to ~8 s and a
 * verification pass a few more, and the confirmation must still find its window open. Only the
 * scenarios that wait for the dead-man switch wait that long, side by side with the others.
 */
export const TEST_TIMES: NetworkApplyTimes = { confirmTimeout: 20, verifyTimeout: 6 };

/** The forwarding switches a routed or NAT file turns on (post-up lines): off on a booted lab host. */
export const FORWARDING = ["/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"] as const;

export interface Staged {
  readonly dir: string;
  readonly sha: string;
  readonly interfaces: string;
}

export class PveHost {
  private stages = 0;

  private constructor(readonly lab: NetLab) {}

  static async create(): Promise<PveHost> {
    return new PveHost(await NetLab.create());
  }

  /** The host's live /etc/network/interfaces (the sandbox's private copy). */
  get live(): string {
    return readFileSync(this.lab.sandbox.file("/etc/network", "interfaces"), "utf8");
  }

  /** What /etc/network holds besides ifupdown2's own files: leftovers show up here. */
  etcNetwork(): string[] {
    return readdirSync(this.lab.sandbox.dir("/etc/network"))
      .filter((n) => !["ifupdown2", "if-up.d", "if-down.d", "if-pre-up.d", "if-post-down.d", "interfaces.d", "run"].includes(n))
      .sort();
  }

  stateDir(...parts: string[]): string {
    return path.join(this.lab.sandbox.dir("/var/lib/pve-dualnet"), ...parts);
  }

  /**
   * Brings a plan's file up directly (ifup -a), as the host's starting point: a host that forwards
   * only if its file says so. A new network namespace copies IPv4 forwarding from the machine's
   * (net.core.devconf_inherit_init_net 0, the kernel's ip-sysctl.rst), which Docker turns on: it is
   * turned off first, so that a change that turns it on can be seen.
   */
  async boot(plan: ClusterPlan): Promise<void> {
    writeFileSync(this.lab.sandbox.file("/etc/network", "interfaces"), renderInterfaces(plan.hosts[0]!, plan.config.name));
    const forwardingOff = FORWARDING.map((file) => `{ [ ! -e ${file} ] || echo 0 >${file}; } && `).join("");
    const up = await this.lab.run(`${forwardingOff}ifup -a 2>&1`);
    if (up.status !== 0) throw new Error(`ifup -a failed: ${up.stdout}`);
  }

  /** Uploads the program, the environment and the interfaces file, as Terraform does. */
  stage(plan: ClusterPlan, options: { times?: NetworkApplyTimes; interfaces?: string; env?: (env: string) => string } = {}): Staged {
    const host = plan.hosts[0]!;
    const dir = path.join(this.lab.sandbox.root, `stage-${++this.stages}`);
    mkdirSync(dir);
    const interfaces = options.interfaces ?? renderInterfaces(host, plan.config.name);
    const env = renderNetworkEnv(host, options.times ?? TEST_TIMES);
    writeFileSync(path.join(dir, "interfaces"), interfaces);
    writeFileSync(path.join(dir, "network.env"), options.env ? options.env(env) : env);
    for (const name of ["pve-dualnet-network.sh", HOST_LIBRARY, "pve-dualnet-network-guard.service"]) {
      writeFileSync(path.join(dir, name), readFileSync(path.join(HOST_DIR, name)));
    }
    return { dir, sha: sha256(interfaces), interfaces };
  }

  /** The command line of `pve-dualnet-network.sh apply`, as Terraform's first step runs it. */
  applyCommand(staged: Staged, options: { confirm?: boolean } = {}): string {
    return `sh ${staged.dir}/pve-dualnet-network.sh apply ${staged.dir}/network.env ${staged.dir}/interfaces${options.confirm ? " --confirm" : ""}`;
  }

  /**
   * `pve-dualnet-network.sh apply` (plus --confirm when asked). `pauseAt` holds it at that
   * checkpoint until `resume()` (PVE_DUALNET_PAUSE_AT, inherited by its dead-man switch).
   */
  apply(staged: Staged, options: RunOptions & { confirm?: boolean; pauseAt?: string } = {}) {
    const env = { ...process.env, ...options.env, ...(options.pauseAt ? { PVE_DUALNET_PAUSE_AT: options.pauseAt } : {}) };
    return this.lab.run(`${options.prelude ?? ""}exec ${this.applyCommand(staged, options)} 2>&1`, { env });
  }

  /** Terraform's second step, over a new connection. */
  confirm(staged: Staged, options: RunOptions = {}): Promise<RunResult> {
    return this.lab.run(`${options.prelude ?? ""}exec sh ${staged.dir}/pve-dualnet-network.sh confirm ${staged.dir}/network.env ${staged.sha} 2>&1`, {
      env: { ...process.env, ...options.env },
    });
  }

  /** The installed program (as the dead-man switch, the boot guard and an admin run it). */
  program(args: string, options: RunOptions = {}): Promise<RunResult> {
    return this.lab.run(`${options.prelude ?? ""}exec sh /var/lib/pve-dualnet/bin/pve-dualnet-network.sh ${args} 2>&1`, {
      env: { ...process.env, ...options.env },
    });
  }

  /** Lets a run held at a checkpoint (`pauseAt`) go on. */
  resume(): void {
    writeFileSync(this.lab.sandbox.file("/run/pve-dualnet", "resume"), "");
  }

  /**
   * The environment of a program run in "a new boot": another boot id than the machine's
   * (PVE_DUALNET_BOOT_ID_FILE; the lab cannot reboot).
   */
  newBoot(): NodeJS.ProcessEnv {
    const file = path.join(this.lab.sandbox.root, "boot_id.next");
    writeFileSync(file, "00000000-0000-4000-8000-000000000000\n");
    return { PVE_DUALNET_BOOT_ID_FILE: file };
  }

  /**
   * A stand-in for ifreload, first on PATH in the prelude it returns: while its count (set by
   * `hang`) is above zero, a run of it hangs as a stuck ifreload does (holds ifupdown2's lock,
   * /run/network/.lock, and never finishes; each writes its pid to the list `hung` returns);
   * other runs are the real ifreload. Runs started from that prelude (an apply and the dead-man
   * switch it starts) share the count.
   */
  stuckIfreload(hangs: number): { prelude: string; hang: (count: number) => void; hung: () => number[] } {
    const dir = path.join(this.lab.sandbox.root, "stuck-ifreload");
    mkdirSync(dir, { recursive: true });
    const hang = (count: number) => writeFileSync(path.join(dir, "hangs"), `${count}\n`);
    hang(hangs);
    const script = [
      "#!/bin/sh",
      `dir=${shellQuote(dir)}`,
      'n=$(cat "$dir/hangs")',
      'if [ "$n" -gt 0 ]; then',
      '  echo $((n - 1)) >"$dir/hangs"',
      '  echo $$ >>"$dir/hung"',
      "  exec flock /run/network/.lock sleep 3600",
      "fi",
      `exec ${shellQuote(REAL_IFRELOAD)} "$@"`,
      "",
    ].join("\n");
    writeFileSync(path.join(dir, "ifreload"), script);
    chmodSync(path.join(dir, "ifreload"), 0o755);
    const hung = () => {
      try {
        return readFileSync(path.join(dir, "hung"), "utf8").split("\n").filter(Boolean).map(Number);
      } catch {
        return [];
      }
    };
    return { prelude: `PATH=${shellQuote(dir)}:$PATH; export PATH; `, hang, hung };
  }

  /**
   * What a routed or NAT file changes besides links, addresses and routes: the forwarding switches,
   * proxy ARP on vmbr0, and the rules of iptables' and ip6tables' nat and raw tables (iptables -S).
   */
  async routingState(): Promise<{ forwarding: string[]; proxyArpVmbr0: string; rules: string[] }> {
    const read = await this.lab.inHost(
      `cat ${FORWARDING.join(" ")} /proc/sys/net/ipv4/conf/vmbr0/proxy_arp; for t in iptables ip6tables; do for table in nat raw; do $t -w -t $table -S | sed "s/^/$t -t $table /"; done; done`,
    );
    if (read.status !== 0) throw new Error(`cannot read the host's routing state: ${read.stderr}`);
    const [ipv4, ipv6, proxyArp, ...rules] = read.stdout.trim().split("\n");
    // A table's default policies (-P) are always there; only added rules (-A) count.
    return { forwarding: [ipv4!, ipv6!], proxyArpVmbr0: proxyArp!, rules: rules.filter((r) => / -A /.test(r)) };
  }

  async defaultRoutes(): Promise<{ gateway: string; dev: string }[]> {
    return (await this.lab.hostJson("-4 route show default")).map((r) => ({ gateway: r.gateway, dev: r.dev }));
  }

  async link(name: string): Promise<any> {
    return (await this.lab.hostJson("addr show")).find((l) => l.ifname === name);
  }

  /** Stages sysctl files and their environment. */
  stageSysctl(hostName: string, files: readonly SysctlFile[], edit: (env: string) => string = (e) => e): string {
    const dir = path.join(this.lab.sandbox.root, `sysctl-${++this.stages}`);
    mkdirSync(dir);
    for (const f of files) writeFileSync(path.join(dir, f.name), renderSysctlFile(f));
    writeFileSync(path.join(dir, "sysctl.env"), edit(renderSysctlEnv(hostName, files)));
    for (const name of ["pve-dualnet-sysctl.sh", HOST_LIBRARY]) writeFileSync(path.join(dir, name), readFileSync(path.join(HOST_DIR, name)));
    return dir;
  }

  applySysctl(dir: string, prelude = ""): Promise<RunResult> {
    return this.lab.run(`${prelude}sh ${dir}/pve-dualnet-sysctl.sh apply ${dir}/sysctl.env ${dir} 2>&1`);
  }

  destroy(): Promise<void> {
    return this.lab.destroy();
  }
}
