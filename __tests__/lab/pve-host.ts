/**
 * A Proxmox host in a network lab (see netlab.ts), with pve-dualnet's host programs as they are
 * uploaded: the real host/pve-dualnet-network.sh and -sysctl.sh, with environment files from
 * the real renderers. Only the times are shortened (through the environment file, as a user
 * would through the cluster description), never the checks.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { ClusterPlan } from "../../config/plan";
import { renderNetworkEnv, renderSysctlEnv, type NetworkApplyTimes } from "../../renderers/host-apply-env";
import { renderInterfaces } from "../../renderers/interfaces";
import { renderSysctlFile, type SysctlFile } from "../../renderers/sysctl";
import { sha256 } from "../../constructs/terraform-text";
import { NetLab } from "./netlab";
import type { RunResult } from "./sandbox";

const HOST_DIR = path.join(__dirname, "..", "..", "host");
/**
 * Short: up to 6 s to verify after the switch (ifreload takes 1-2 s on a busy 2-core machine),
 * then 5 s for the test's confirmation, which follows at once over a local "connection" (the
 * validator demands 15 s there, for an SSH reconnect over a real network).
 */
export const TEST_TIMES: NetworkApplyTimes = { confirmTimeout: 11, verifyTimeout: 6 };

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

  /** Brings a plan's file up directly (ifup -a), as the host's starting point. */
  async boot(plan: ClusterPlan): Promise<void> {
    writeFileSync(this.lab.sandbox.file("/etc/network", "interfaces"), renderInterfaces(plan.hosts[0]!, plan.config.name));
    const up = await this.lab.run("ifup -a 2>&1");
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
    for (const name of ["pve-dualnet-network.sh", "pve-dualnet-network-guard.service"]) {
      writeFileSync(path.join(dir, name), readFileSync(path.join(HOST_DIR, name)));
    }
    return { dir, sha: sha256(interfaces), interfaces };
  }

  /** `pve-dualnet-network.sh apply`, as Terraform's first step runs it (plus --confirm when asked). */
  apply(staged: Staged, options: { confirm?: boolean; pauseAt?: string; prelude?: string } = {}) {
    const env = { ...process.env, ...(options.pauseAt ? { PVE_DUALNET_PAUSE_AT: options.pauseAt } : {}) };
    const args = `apply ${staged.dir}/network.env ${staged.dir}/interfaces${options.confirm ? " --confirm" : ""}`;
    return this.lab.run(`${options.prelude ?? ""}exec sh ${staged.dir}/pve-dualnet-network.sh ${args} 2>&1`, { env });
  }

  /** Terraform's second step, over a new connection. */
  confirm(staged: Staged): Promise<RunResult> {
    return this.lab.run(`exec sh ${staged.dir}/pve-dualnet-network.sh confirm ${staged.dir}/network.env ${staged.sha} 2>&1`);
  }

  program(args: string): Promise<RunResult> {
    return this.lab.run(`sh /var/lib/pve-dualnet/bin/pve-dualnet-network.sh ${args} 2>&1`);
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
    writeFileSync(path.join(dir, "pve-dualnet-sysctl.sh"), readFileSync(path.join(HOST_DIR, "pve-dualnet-sysctl.sh")));
    return dir;
  }

  applySysctl(dir: string, prelude = ""): Promise<RunResult> {
    return this.lab.run(`${prelude}sh ${dir}/pve-dualnet-sysctl.sh apply ${dir}/sysctl.env ${dir} 2>&1`);
  }

  destroy(): Promise<void> {
    return this.lab.destroy();
  }
}
