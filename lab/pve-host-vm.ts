/**
 * A Proxmox-like host in the boot lab, and a Terraform project that deploys pve-dualnet's
 * `host-network` stack to it for real (lab/host.lab.ts).
 *
 * The host: a lab guest of the "host" role (systemd as PID 1, ifupdown2's networking.service,
 * sshd), NICs enp4s0 (vmbr0, the lan namespace's router 192.168.0.1 behind it) and enp5s0 (vmbr1,
 * MTU 9000 on the wire; the peer 10.0.0.3 behind it), booted with an earlier interfaces file.
 * Two things make it behave like a Proxmox VE host at boot:
 *
 * - pvenetcommit.service, a stand-in with Proxmox's own unit (lab/pvenetcommit.service), enabled
 *   and run once after the first boot as pve-manager's postinst would;
 * - the lab's files go in once: the runner unpacks them at every boot (pvdn-lab-files.service),
 *   which would put the earlier interfaces file back at every reboot. A drop-in that comes with
 *   them skips that service from the second boot on (nothing on a Proxmox host rewrites
 *   /etc/network/interfaces at boot but pvenetcommit).
 *
 * The project: a directory of its own (cdktf.json running the project's app, the description,
 * the state), `cdktf deploy host-network` run from the lan namespace (where the router is) with
 * the real terraform and the cdktf CLI, hashicorp/local's stand-in (it writes the review copies),
 * and the lab key as TF_VAR_ssh_private_key.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CDKTF_CLI, startLocalProvider, type LocalProvider } from "../__tests__/terraform/local-provider";
import type { Release } from "./image";
import { BridgedNetwork, INTERNAL_MTU, LAN } from "./network";
import { labKeyPair, Vm } from "./qemu";

const root = path.join(__dirname, "..");

export const PVE = {
  name: "pve",
  external: "192.168.0.2",
  internal: "10.0.0.2",
  macs: ["bc:24:11:0c:00:02", "bc:24:11:0c:01:02"],
} as const;

/** Proxmox VE's major version on each Debian release. */
export const PVE_VERSION: Record<Release, 8 | 9> = { bookworm: 8, trixie: 9 };

/** The lab's times: the shortest confirm window the schema allows, and the verification it leaves room for (confirm - 15 s). */
export const TIMES = { confirmTimeout: 20, verifyTimeout: 5 } as const;

/**
 * The lab's cluster description, in examples/cluster.yaml's shape: one Proxmox node with the dual
 * bridges, reached by SSH at 192.168.0.2. `internalMtu` 9000 turns on jumbo frames on vmbr1.
 */
export function labDescription(options: { release: Release; internalMtu: 1500 | 9000 }): string {
  const internal = options.internalMtu === 1500 ? "{ cidr: 10.0.0.0/24, mtu: 1500 }" : `{ cidr: 10.0.0.0/24, mtu: ${INTERNAL_MTU}, jumboFrames: true }`;
  return `# The host lab's cluster (lab/host.lab.ts): one Proxmox node, the dual network of examples/cluster.yaml.
name: lab

proxmox:
  endpoint: https://${PVE.external}:8006/
  insecure: true
  version: ${PVE_VERSION[options.release]}
  nodes:
    - name: ${PVE.name}
      ssh: { host: ${PVE.external} }
      interfaces:
        # Pinned by MAC, so that every deploy also checks the NIC names on a booted host.
        - { kind: nic, name: enp4s0, mac: "${PVE.macs[0]}" }
        - { kind: nic, name: enp5s0, mac: "${PVE.macs[1]}" }
        - { kind: bridge, name: vmbr0, network: external, address: ${PVE.external}, ports: [enp4s0] }
        - { kind: bridge, name: vmbr1, network: internal, address: ${PVE.internal}, ports: [enp5s0] }
  apply: { confirmTimeout: ${TIMES.confirmTimeout}, verifyTimeout: ${TIMES.verifyTimeout} }

networks:
  external: { cidr: 192.168.0.0/24, gateway: ${LAN.gateway}, dns: [${LAN.gateway}], mtu: 1500 }
  internal: ${internal}

vmDefaults:
  cpu: { cores: 2, sockets: 1 }
  memory: 1024
  source:
    clone: { vmId: 9000 }
  cloudInit:
    user: ubuntu

vms:
  - { name: master-1, id: 111, role: control-plane, ip: { external: 192.168.0.11, internal: 10.0.0.11 } }

kubernetes:
  cni:
    plugin: flannel
    flannel: { backend: vxlan }
`;
}

/** Terraform reads `$${` and `%%{` in the JSON as `${` and `%{`: what lands in the file. */
const unescape = (text: string) => text.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");

/** `pve-dualnet synth` of a description, as a user runs it: the rendered /etc/network/interfaces of node pve. */
export async function renderedInterfaces(description: string): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), "pvdn-hostlab-synth-"));
  try {
    writeFileSync(path.join(dir, "cluster.yaml"), description);
    const out = path.join(dir, "out");
    const r = await run(process.execPath, [path.join(root, "bin", "pve-dualnet.mjs"), "synth", path.join(dir, "cluster.yaml"), "--out", out], { env: { ...process.env, PVE_DUALNET_SSH_PUBLIC_KEYS: (await labKeyPair()).publicKey } });
    if (r.status !== 0) throw new Error(`pve-dualnet synth failed (${r.status}):\n${r.output}`);
    const stack = JSON.parse(readFileSync(path.join(out, "stacks", "host-network", "cdk.tf.json"), "utf8"));
    const files = Object.values<{ filename: string; content: string }>(stack.resource.local_file);
    const file = files.find((f) => f.filename.endsWith(`/hosts/${PVE.name}/interfaces`));
    if (!file) throw new Error("pve-dualnet synth wrote no interfaces file for node pve");
    return unescape(file.content);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * An ifupdown2 hook (ifupdown2 runs /etc/network/if-pre-up.d/* for every interface it brings up,
 * addon_scripts_support=1 in Debian's ifupdown2.conf) that makes ifreload hang for real, once:
 * when /run/pvdn-lab/hang-ifreload exists, the first run for vmbr1 removes it and sleeps inside
 * ifupdown2, which holds its own lock the while. Otherwise it does nothing.
 */
export const HANG_HOOK_PATH = "/etc/network/if-pre-up.d/zz-pvdn-lab-hang";
export const HANG_TOKEN = "/run/pvdn-lab/hang-ifreload";
const HANG_HOOK = `#!/bin/sh
# pve-dualnet boot lab (lab/pve-host-vm.ts): hangs ifupdown2 once, when the lab asks for it.
[ "$IFACE" = vmbr1 ] || exit 0
rm ${HANG_TOKEN} 2>/dev/null || exit 0
logger -t pvdn-lab "ifupdown2 hook: hanging in pre-up of $IFACE (pid $$, process group $(ps -o pgid= $$))"
exec sleep 3600
`;

/** Files that go into the guest at its first boot only: the drop-in skips the lab's files service from the next boot on. */
const FILES_ONCE = {
  "/etc/systemd/system/pvdn-lab-files.service.d/pvdn-host-lab-once.conf":
    "# The host lab's files go in at the first boot only (lab/pve-host-vm.ts): a Proxmox host's\n# /etc/network/interfaces is rewritten at boot by pvenetcommit alone.\n[Unit]\nConditionPathExists=!/etc/pvdn-host-lab-files-in\n",
  "/etc/pvdn-host-lab-files-in": "the host lab's files went in at the first boot\n",
};

export interface ProxmoxHostOptions {
  readonly image: Release;
  readonly net: BridgedNetwork;
  /** /etc/network/interfaces at the first boot. */
  readonly interfaces: string;
  readonly name?: string;
}

/** Boots the host, waits for SSH and installs pvenetcommit as Proxmox's package does (enabled, run once). */
export async function startProxmoxHost(options: ProxmoxHostOptions): Promise<Vm> {
  const vm = await Vm.start({
    name: options.name ?? `hostlab-${options.image}`,
    image: options.image,
    role: "host",
    netns: options.net.host,
    smp: 2,
    nics: [
      { mac: PVE.macs[0], bridge: "vmbr0", mtu: 1500, guestName: "enp4s0" },
      { mac: PVE.macs[1], bridge: "vmbr1", mtu: INTERNAL_MTU, guestName: "enp5s0" },
    ],
    files: {
      "/etc/network/interfaces": options.interfaces,
      "/etc/hostname": `${PVE.name}\n`,
      "/etc/systemd/system/pvenetcommit.service": readFileSync(path.join(__dirname, "pvenetcommit.service"), "utf8"),
      [HANG_HOOK_PATH]: { content: HANG_HOOK, mode: 0o755 },
      ...FILES_ONCE,
    },
    ssh: { netns: options.net.lan, address: PVE.external },
  });
  try {
    await vm.waitForSsh();
    const installed = await vm.ssh("systemctl enable --now --quiet pvenetcommit.service && systemctl is-active pvenetcommit.service");
    if (installed.status !== 0) throw new Error(`pvenetcommit.service: ${installed.stdout}${installed.stderr}`);
    return vm;
  } catch (e) {
    await vm.destroy();
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Processes on this machine
// ---------------------------------------------------------------------------

function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}

/** Every descendant of `pid` (by /proc/<pid>/stat's parent pid), children before their parents' parents. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

// ---------------------------------------------------------------------------
// The Terraform project
// ---------------------------------------------------------------------------

export interface DeployResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
  readonly ms: number;
}

/** A running `cdktf deploy`: its output so far, a wait for a line, and SIGKILL to its whole process tree. */
export class Deploy {
  output = "";
  readonly done: Promise<DeployResult>;
  readonly started = Date.now();
  /** When each piece of output arrived (ms since the start), for "when did the user see it". */
  readonly arrivals: [number, string][] = [];
  private waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(private readonly child: ChildProcess) {
    const onData = (d: Buffer) => {
      this.output += d;
      this.arrivals.push([Date.now() - this.started, String(d)]);
      for (const w of [...this.waiters]) {
        const m = this.output.match(w.pattern);
        if (m) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    this.done = new Promise((resolve) => child.on("close", (status, signal) => resolve({ status, signal, output: this.output, ms: Date.now() - this.started })));
  }

  /** Resolves when the output matches (at once if it already does); fails if the deploy ends first or time runs out. */
  async waitFor(pattern: RegExp, timeoutMs = 300_000): Promise<RegExpMatchArray> {
    const already = this.output.match(pattern);
    if (already) return already;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<RegExpMatchArray>((resolve) => this.waiters.push({ pattern, resolve })),
        this.done.then((r) => {
          throw new Error(`cdktf deploy ended (${r.status ?? r.signal}) before its output matched ${pattern}:\n${r.output}`);
        }),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${pattern} in cdktf deploy's output within ${timeoutMs} ms:\n${this.output}`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** When the output first matched `pattern` (ms since the start), or undefined. */
  seenAt(pattern: RegExp): number | undefined {
    let text = "";
    for (const [at, chunk] of this.arrivals) {
      text += chunk;
      if (pattern.test(text)) return at;
    }
    return undefined;
  }

  /** SIGKILL to cdktf, terraform and everything they started (found by parent pid, so a pty's new session is no escape). */
  kill(): number[] {
    const pids = [this.child.pid!, ...descendants(this.child.pid!)];
    for (const pid of pids.reverse()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone already */
      }
    }
    return pids;
  }

  /** Whether any process of the tree still runs. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

/**
 * A user's project: cdktf.json whose app is the project's own (bin/app.mjs), the description
 * in PVE_DUALNET_CONFIG, local state beside it. `cdktf deploy host-network` runs in the lan
 * namespace, hashicorp/local's stand-in writing the review copies under generated/.
 */
export class HostNetworkProject {
  private constructor(
    readonly dir: string,
    private readonly netns: string,
    private readonly local: LocalProvider,
    private readonly privateKey: string,
  ) {}

  static async create(netns: string): Promise<HostNetworkProject> {
    const dir = mkdtempSync(path.join(tmpdir(), "pvdn-hostlab-project-"));
    writeFileSync(path.join(dir, "cdktf.json"), JSON.stringify({ language: "typescript", app: `node ${path.join(root, "bin", "app.mjs")}`, sendCrashReports: "false" }, null, 2));
    const local = await startLocalProvider({ workingDirectory: path.join(dir, "cdktf.out", "stacks", "host-network") });
    return new HostNetworkProject(dir, netns, local, readFileSync((await labKeyPair()).privateKey, "utf8"));
  }

  get descriptionFile(): string {
    return path.join(this.dir, "cluster.yaml");
  }

  /** Edits the description, as a user does before a deploy. */
  describe(text: string): void {
    writeFileSync(this.descriptionFile, text);
  }

  /** Starts `cdktf deploy host-network --auto-approve` (offline: --skip-provider-lock) from the lan namespace. */
  async deploy(): Promise<Deploy> {
    const env = {
      ...this.local.env,
      PVE_DUALNET_CONFIG: this.descriptionFile,
      PVE_DUALNET_SSH_PUBLIC_KEYS: (await labKeyPair()).publicKey,
      TF_VAR_ssh_private_key: this.privateKey,
      SSH_AUTH_SOCK: "",
    };
    const args = ["netns", "exec", this.netns, process.execPath, CDKTF_CLI, "deploy", "host-network", "--auto-approve", "--skip-provider-lock", "--no-color"];
    // A process group of its own: nothing of it reads the test's terminal.
    return new Deploy(spawn("ip", args, { cwd: this.dir, env, stdio: ["ignore", "pipe", "pipe"], detached: true }));
  }

  /** Deploys and waits for the end. */
  async deployed(): Promise<DeployResult> {
    return (await this.deploy()).done;
  }

  /** The stack's directory, where cdktf runs terraform. */
  get stackDir(): string {
    return path.join(this.dir, "cdktf.out", "stacks", "host-network");
  }

  /**
   * The network apply of node pve as Terraform's state records it (the local backend's file beside
   * the project): its address, the sha256 of the interfaces file it uploaded, and whether it is
   * tainted (a provisioner failed). Undefined when the state has none.
   */
  networkApplyInState(): { address: string; interfacesSha: string; tainted: boolean } | undefined {
    let state: { resources?: { type: string; name: string; instances: { status?: string; attributes: { triggers_replace?: { value?: Record<string, string> } & Record<string, string> } }[] }[] };
    try {
      state = JSON.parse(readFileSync(path.join(this.dir, "terraform.host-network.tfstate"), "utf8"));
    } catch {
      return undefined;
    }
    const resource = state.resources?.find((r) => r.type === "terraform_data" && r.name.startsWith(`host-${PVE.name}_network_apply`));
    const instance = resource?.instances[0];
    if (!resource || !instance) return undefined;
    const triggers = instance.attributes.triggers_replace;
    const interfacesSha = (triggers?.value ?? triggers)?.interfaces;
    return { address: `terraform_data.${resource.name}`, interfacesSha: String(interfacesSha), tainted: instance.status === "tainted" };
  }

  /**
   * Every resource instance in the host-network state, address -> id. What an apply did is read
   * here, not from cdktf's printout: cdktf runs `terraform apply` in a pty and ends the step at
   * the pty's exit, so its last lines ("Apply complete! ...") can be lost.
   */
  stateInstances(): Map<string, string> {
    let state: { resources?: { mode?: string; type: string; name: string; instances: { index_key?: string | number; attributes: { id?: string } }[] }[] };
    try {
      state = JSON.parse(readFileSync(path.join(this.dir, "terraform.host-network.tfstate"), "utf8"));
    } catch {
      return new Map();
    }
    const instances = new Map<string, string>();
    for (const r of state.resources ?? []) {
      if (r.mode === "data") continue;
      for (const i of r.instances) instances.set(`${r.type}.${r.name}${i.index_key === undefined ? "" : `[${JSON.stringify(i.index_key)}]`}`, String(i.attributes.id));
    }
    return instances;
  }

  /** `terraform <args>` in the stack's directory, as cdktf runs it (hashicorp/local's stand-in attached). */
  terraform(args: readonly string[]): Promise<{ status: number | null; output: string }> {
    return this.local.terraform(args, this.stackDir);
  }

  async destroy(): Promise<void> {
    await this.local.stop();
    if (!process.env.PVE_DUALNET_LAB_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Resets the established TCP connections from `netns` to the host's sshd that belong to processes
 * named `command` (ss -K: the kernel aborts them and sends a reset, as a dropped link or a
 * stateful firewall would): the connection is gone on both ends, the process stays.
 */
export async function resetSshConnections(netns: string, command: string): Promise<string[]> {
  const listed = await run("ip", ["netns", "exec", netns, "ss", "-Htnp", "state", "established", "dst", PVE.external]);
  const ports = listed.output
    .split("\n")
    .filter((line) => line.includes(`(("${command}",`) && /:22\s/.test(line))
    .map((line) => line.trim().split(/\s+/)[2]!.split(":").pop()!);
  for (const port of ports) {
    const killed = await run("ip", ["netns", "exec", netns, "ss", "-K", "-tn", "state", "established", "dst", PVE.external, "sport", "=", `:${port}`]);
    if (killed.status !== 0) throw new Error(`ss -K: ${killed.output}`);
  }
  return ports;
}

/** cdktf deploy's output as a user reads it: no terminal control sequences, spinners or progress lines. */
/** What an apply did to the state: instances added, replaced (same address, new id) and removed. */
export function stateChange(before: Map<string, string>, after: Map<string, string>): { added: number; replaced: number; removed: number } {
  let added = 0;
  let replaced = 0;
  for (const [address, id] of after) {
    if (!before.has(address)) added++;
    else if (before.get(address) !== id) replaced++;
  }
  return { added, replaced, removed: [...before.keys()].filter((address) => !after.has(address)).length };
}

export function userView(output: string): string {
  return output
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, "")
    .split("\n")
    .filter((line) => line.trim() && !/^\d+ Stacks? deploying/.test(line) && !/^[\u2800-\u28ff]\s/.test(line.trim()))
    .join("\n");
}

export { sleep };
