/**
 * Private copies of the machine-wide places that host tools keep state in, for tests.
 *
 * ifupdown2 takes a machine-wide lock (/run/network/.lock) even for a syntax check, keeps state
 * under /var/tmp/network and reads its configuration from /etc/network; the apply scripts keep
 * their lock, backups and run logs under /run/pve-dualnet and /var/lib/pve-dualnet; sysctl reads
 * /etc/sysctl.d. A Sandbox gives each test its own empty or copied directories and runs commands
 * in a private mount namespace where those directories are bound over the real paths. Two tests,
 * or a test and a real ifupdown2 on the machine, never see each other.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { shellQuote } from "../../renderers/shell";

/** Real path -> how its private copy starts: empty, or a copy of the machine's directory. */
const PRIVATE_PATHS = {
  "/etc/network": "copy",
  "/run/network": "empty",
  "/var/tmp/network": "empty",
  "/run/pve-dualnet": "empty",
  "/var/lib/pve-dualnet": "empty",
  "/etc/sysctl.d": "empty",
  "/etc/modules-load.d": "empty",
  // `sysctl --system` reads these too: a sandbox sees only what its test installs.
  "/usr/lib/sysctl.d": "empty",
} as const;

/** Files hidden behind /dev/null where they exist. */
const HIDDEN_FILES = ["/etc/sysctl.conf"];

export type PrivatePath = keyof typeof PRIVATE_PATHS;

export interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Debian's root PATH, without /usr/local. */
export const HOST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/** A word for sh, quoted when it needs to be (the project's one shell writer). */
export { shellQuote };
/** A path as an fstab field: space, tab, newline and backslash as octal escapes (fstab(5)). */
const fstabField = (s: string) => s.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);

export class Sandbox {
  /** The sandbox's own directory on the machine; everything private lives below it. */
  readonly root: string;

  constructor(prefix = "pvdn-sandbox-") {
    this.root = mkdtempSync(path.join(tmpdir(), prefix));
    for (const [real, start] of Object.entries(PRIVATE_PATHS)) {
      const copy = this.dir(real as PrivatePath);
      mkdirSync(copy, { recursive: true });
      if (start === "copy") cpSync(real, copy, { recursive: true, verbatimSymlinks: true });
    }
    // Every bind in one table: one `mount -a` per run, not a `mount` per directory (a quarter of the cost).
    // X-mount.mkdir creates a missing mount point, as ifupdown2 itself would create it.
    const binds = [
      ...Object.keys(PRIVATE_PATHS).map((real) => [this.dir(real as PrivatePath), real, "bind,X-mount.mkdir"]),
      ...HIDDEN_FILES.filter((file) => existsSync(file)).map((file) => ["/dev/null", file, "bind"]),
    ];
    writeFileSync(this.fstab, binds.map(([from, to, options]) => `${fstabField(from!)} ${fstabField(to!)} none ${options} 0 0\n`).join(""));
  }

  /** The mount table of the private directories (`mount --fstab FILE -a`). */
  private get fstab(): string {
    return path.join(this.root, "fstab");
  }

  /** Where a private directory lives on the machine (for reading results from outside). */
  dir(real: PrivatePath): string {
    return path.join(this.root, real.replace(/\//g, "_"));
  }

  /** The machine path of a file inside a private directory, e.g. file("/etc/network", "interfaces"). */
  file(real: PrivatePath, name: string): string {
    return path.join(this.dir(real), name);
  }

  /**
   * argv that runs `script` (sh) with the private directories bound over the real ones, and in
   * network namespace `netns` when given. The binds stay in the run's own mount namespace:
   * `unshare --mount --propagation private`, or in a network namespace the one `ip netns exec`
   * makes for every command (its mounts are slaves of the machine's: nothing propagates back).
   */
  argv(script: string, netns?: string): string[] {
    // A Proxmox host's root PATH: ifupdown2 (`#!/usr/bin/env python3`) runs under the system's
    // python3 as it does there, not under a python earlier on a developer's PATH (pyenv's shims
    // also double its start-up time).
    const prelude = `set -e; mount --fstab ${shellQuote(this.fstab)} -a; set +e; export PATH=${HOST_PATH}\n`;
    return netns ? ["ip", "netns", "exec", netns, "sh", "-c", prelude + script] : ["unshare", "--mount", "--propagation", "private", "sh", "-c", prelude + script];
  }

  run(script: string, options: { netns?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): RunResult {
    const [cmd, ...args] = this.argv(script, options.netns);
    const result: SpawnSyncReturns<string> = spawnSync(cmd!, args, {
      encoding: "utf8",
      input: options.input,
      env: options.env ?? process.env,
      timeout: options.timeoutMs,
    });
    return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
  }

  /** As run, without blocking the test process (so scenarios can overlap their waits). */
  runAsync(script: string, options: { netns?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> & { readonly pid?: number } {
    const [cmd, ...args] = this.argv(script, options.netns);
    const child = spawn(cmd!, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const done = new Promise<RunResult>((resolve) => child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr })));
    return Object.assign(done, { pid: child.pid });
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A short name no other run or test uses: network namespace and file name suffixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}${process.pid.toString(36)}${Math.random().toString(36).slice(2, 7)}`;
}
