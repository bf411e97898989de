/**
 * The judges of Debian 13 (trixie), the base of Proxmox VE 9: its ifupdown2 and cloud-init judge
 * the same artifacts as the machine's own Debian 12 tools (__tests__/ifupdown2.ts, cloud-init).
 *
 * They live in a root directory of their own, built once per machine from Debian's archive by
 * scripts/judges/debian13.sh (global setup builds it, see global-setup.mjs beside this file), and
 * run in it with chroot. Each run gets a private mount namespace with an overlay on that root
 * (the upper layer a tmpfs of the namespace), its own /proc, /run/network and /var/tmp/network as
 * a host's boot makes them, and the files it judges bound at /mnt (its output directory at /out):
 * runs never see each other, the machine's state, or change the shared root. Answers go through
 * the judges' cache like the Debian 12 ones, keyed by the root's package list.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { TOLERATED_SYNTAX_WARNINGS, type Stanza } from "../ifupdown2";
import { judged, judgedSync, type Judgement } from "../lab/judged";
import { shellQuote } from "../lab/sandbox";

/** Set by global setup for every test process: the root's cache directory, or why there is none. */
export const DEBIAN13_DIR_ENV = "PVE_DUALNET_DEBIAN13_DIR";
export const DEBIAN13_UNAVAILABLE_ENV = "PVE_DUALNET_DEBIAN13_UNAVAILABLE";
export const DEBIAN13_SCRIPT = path.join(__dirname, "..", "..", "scripts", "judges", "debian13.sh");

let located: { dir?: string; reason?: string } | undefined;
/** The root's cache directory (global setup's answer; without global setup, the script's). */
function locate(): { dir?: string; reason?: string } {
  if (located) return located;
  if (process.getuid?.() !== 0) return (located = { reason: "the Debian 13 judges run in a chroot: they need root" });
  if (process.env[DEBIAN13_DIR_ENV]) return (located = { dir: process.env[DEBIAN13_DIR_ENV] });
  if (process.env[DEBIAN13_UNAVAILABLE_ENV]) return (located = { reason: process.env[DEBIAN13_UNAVAILABLE_ENV] });
  const built = spawnSync(DEBIAN13_SCRIPT, [], { encoding: "utf8" });
  if (built.status === 0) return (located = { dir: built.stdout.trim() });
  return (located = { reason: built.stderr.trim().split("\n").pop() || `${DEBIAN13_SCRIPT} exited ${built.status}` });
}

/**
 * Whether the Debian 13 judges can run here. CI (CI set) must run them: there a missing root is
 * an error saying why; elsewhere their checks are skipped (global setup said why, once).
 */
export function debian13Available(): boolean {
  const { dir, reason } = locate();
  if (!dir && process.env.CI) throw new Error(`CI must run the Debian 13 judges, but: ${reason} (see scripts/judges/debian13.sh; .ci/run installs mmdebstrap)`);
  return dir !== undefined;
}

function dir(): string {
  const { dir, reason } = locate();
  if (!dir) throw new Error(`no Debian 13 judges: ${reason}`);
  return dir;
}

/** The shared root directory the judges run in (read-only to them). */
export const debian13Root = () => path.join(dir(), "root");

let identity: string | undefined;
/** What the root is, for the judges' cache: every package in it with its version. */
const rootIdentity = () => (identity ??= readFileSync(path.join(dir(), "packages.txt"), "utf8"));

/** `dpkg-query -W` of the judges in the root: package -> version. */
export function debian13Versions(): Record<string, string> {
  return Object.fromEntries(
    readFileSync(path.join(dir(), "versions.txt"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("\t") as [string, string]),
  );
}

/**
 * Runs as root: $1 the root, $2 the run's own directory, $3 the command (sh, inside the chroot).
 * The run's directory holds s/ (a tmpfs here: the overlay's layers and its mount point), io/
 * (bound at /mnt) and out/ (bound at /out when the run has outputs).
 */
const PRELUDE = `set -e
root=$1 run=$2
mount -t tmpfs -o mode=0700 tmpfs "$run/s"
mkdir "$run/s/upper" "$run/s/work" "$run/s/root"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$run/s/upper,workdir=$run/s/work" "$run/s/root"
mount -t proc proc "$run/s/root/proc"
mount --bind "$run/io" "$run/s/root/mnt"
if [ -d "$run/out" ]; then mkdir -p "$run/s/root/out"; mount --bind "$run/out" "$run/s/root/out"; fi
mkdir -p "$run/s/root/run/network" "$run/s/root/var/tmp/network"
exec chroot "$run/s/root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root sh -c "$3"
`;

function prepare(files: Record<string, string>, outputs?: string): { run: string; argv: string[] } {
  const run = mkdtempSync(path.join(tmpdir(), "pvdn-debian13-"));
  mkdirSync(path.join(run, "s"));
  mkdirSync(path.join(run, "io"));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(run, "io", name), text);
  if (outputs) mkdirSync(path.join(run, "out"));
  return { run, argv: ["--mount", "--propagation", "private", "sh", "-c", PRELUDE, "-", debian13Root(), run] };
}

/**
 * `command` (sh) in the Debian 13 root, with `files` at /mnt/NAME; what it writes to /out lands
 * in `outputs` (replaced).
 */
export function inDebian13(command: string, files: Record<string, string> = {}, outputs?: string): Promise<Judgement> {
  const { run, argv } = prepare(files, outputs);
  return new Promise((resolve) => {
    const child = spawn("unshare", [...argv, command], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => {
      if (outputs) {
        rmSync(outputs, { recursive: true, force: true });
        mkdirSync(path.dirname(outputs), { recursive: true });
        // The namespace is gone: out/ is an ordinary directory again.
        spawnSync("mv", [path.join(run, "out"), outputs]);
      }
      rmSync(run, { recursive: true, force: true });
      resolve({ status, stdout, stderr });
    });
  });
}

/** As inDebian13, for a decision a test file makes while its tests are collected. */
export function inDebian13Sync(command: string, files: Record<string, string> = {}): Judgement {
  const { run, argv } = prepare(files);
  try {
    const result = spawnSync("unshare", [...argv, command], { encoding: "utf8" });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
}

const quote = (args: readonly string[]) => args.map(shellQuote).join(" ");

/** `ifquery ARGS -i FILE` of Debian 13's ifupdown2 on an interfaces text. */
export function debian13Ifquery(interfaces: string, args: readonly string[] = ["-a"]): Promise<Judgement> {
  const command = `ifquery ${quote(args)} -i /mnt/interfaces`;
  return judged({ judge: `debian13 ${command}`, texts: { root: rootIdentity(), interfaces } }, () => inDebian13(command, { interfaces }));
}

/**
 * The interfaces Debian 13's ifupdown2 reads from a text (`ifquery -a -o json`), in the shape of
 * stanzas() (__tests__/ifupdown2.ts) with the options sorted (ifupdown2 groups repeated ones),
 * and which of them are `auto`.
 */
export async function debian13Parsed(interfaces: string): Promise<{ stanzas: Record<string, Stanza>; auto: string[] }> {
  const result = await debian13Ifquery(interfaces, ["-a", "-o", "json"]);
  if (result.status !== 0) throw new Error(`Debian 13's ifquery exited ${result.status}:\n${result.stderr}`);
  const parsed: { name: string; addr_method: string; auto: boolean; config: Record<string, string | string[]> }[] = JSON.parse(result.stdout);
  return {
    stanzas: Object.fromEntries(
      parsed.map((iface) => [
        iface.name,
        { method: iface.addr_method, options: Object.entries(iface.config).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k} ${x}`)).sort() },
      ]),
    ),
    auto: parsed.filter((iface) => iface.auto).map((iface) => iface.name),
  };
}

/**
 * `ifup -a -s -i FILE` of Debian 13's ifupdown2: the problems it reports, less the warnings the
 * host apply program tolerates (as syntaxCheck() of __tests__/ifupdown2.ts for Debian 12).
 */
export async function debian13SyntaxCheck(interfaces: string): Promise<string[]> {
  const command = "ifup -a -s -i /mnt/interfaces";
  const result = await judged({ judge: `debian13 ${command}`, texts: { root: rootIdentity(), interfaces } }, () => inDebian13(command, { interfaces }));
  const output = `${result.stdout}${result.stderr}`.split("\n").filter((l) => l.trim());
  if (result.status !== 0 && output.length === 0) return [`ifup exited ${result.status} without a message`];
  return output.filter((l) => !TOLERATED_SYNTAX_WARNINGS.some((w) => l.includes(w)));
}

let attributes: Set<string> | undefined;
/** Every attribute Debian 13's ifupdown2 modules accept (`ifquery --syntax-help`). */
export function debian13KnownAttributes(): Set<string> {
  if (!attributes) {
    const command = "ifquery --syntax-help";
    const help = judgedSync({ judge: `debian13 ${command}`, texts: { root: rootIdentity() } }, () => inDebian13Sync(command));
    if (help.status !== 0) throw new Error(`Debian 13's ifquery --syntax-help exited ${help.status}:\n${help.stderr}`);
    attributes = new Set(help.stdout.split("\n").filter((l) => /^ {2}[a-z0-9-]+$/.test(l)).map((l) => l.trim()));
  }
  return attributes;
}

/** `cloud-init schema --schema-type network-config` of Debian 13's cloud-init on a network config. */
export function debian13CloudInitSchema(networkConfig: string): Promise<Judgement> {
  const command = "cloud-init schema --schema-type network-config --config-file /mnt/network-config";
  return judged({ judge: `debian13 ${command}`, texts: { root: rootIdentity(), config: networkConfig } }, () => inDebian13(command, { "network-config": networkConfig }));
}

/** `cloud-init devel net-convert` of Debian 13's cloud-init: what it renders lands in `outputs`. */
export function debian13NetConvert(networkConfig: string, outputs: string, output: string, distro: string): Promise<Judgement> {
  const command = `cloud-init devel net-convert -p /mnt/network-config -k yaml -d /out -D ${quote([distro])} -O ${quote([output])}`;
  return judged({ judge: `debian13 ${command}`, texts: { root: rootIdentity(), "network-config": networkConfig }, outputs }, () =>
    inDebian13(command, { "network-config": networkConfig }, outputs),
  );
}
