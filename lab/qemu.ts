/**
 * Guests booted from lab images (lab/image.ts) with QEMU, as Proxmox boots them, for tests that
 * need a real kernel, systemd, udev, cloud-init or ifupdown2 behind a tap on a bridge.
 *
 * A guest runs inside a caller's network namespace (QEMU opens its taps there); its NICs are taps
 * made by the runner, set to their MTU and enslaved to the caller's bridges. The root disk is a
 * fresh qcow2 overlay on the cached image; a NoCloud seed goes in as a Proxmox-like CD (ide2),
 * and files (SSH keys, /etc/network/interfaces, udev .link files) go in through QEMU's fw_cfg,
 * unpacked over / early at boot by the image's pvdn-lab-files.service. The role decides the kernel
 * command line: a "node" boots with cloud-init (ifupdown2 masked), a "host" without cloud-init
 * and systemd-networkd (ifupdown2's networking.service brings up /etc/network/interfaces).
 *
 * Everything is asynchronous (tests run labs side by side) and every name is unique per guest;
 * at most PVE_DUALNET_LAB_MAX_GUESTS (2) guests run on the machine at once, whoever started them
 * (Vm.start waits for a slot). Guests run under TCG unless PVE_DUALNET_LAB_ACCEL=kvm. destroy()
 * (or stop()/kill()) removes the taps and the work directory; under jest the lab's global teardown
 * kills what a failed test left running, elsewhere the process's exit does.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { uniqueName } from "../__tests__/lab/sandbox";
import { runTool, type ToolResult } from "../__tests__/lab/tools";
import { labImage, type LabImage, type Release } from "./image";

export interface NicSpec {
  /** Default: a random Proxmox-style (BC:24:11) address. */
  readonly mac?: string;
  /** The host side. Default: a unique name. */
  readonly tap?: string;
  /** Bridge the tap is enslaved to (in the guest's network namespace). */
  readonly bridge?: string;
  /** Queue pairs: a multi-queue tap and `mq=on,vectors=2Q+2` when > 1. Default 1. */
  readonly queues?: number;
  /** MTU of the tap and the guest NIC (virtio host_mtu). Default 1500. */
  readonly mtu?: number;
  /** PCI slot on pci.0. Default 0x12 + index, as Proxmox places net0..net5. */
  readonly addr?: string;
  /** Name the guest gives the NIC, by a udev .link file matching its MAC (e.g. enp4s0). */
  readonly guestName?: string;
  /** This NIC's exact -netdev/-device arguments (e.g. qemu-server's), instead of the runner's. */
  readonly qemuArgs?: (nic: Nic, index: number) => string[];
}

/** A NIC with every default filled in. */
export type Nic = Required<Omit<NicSpec, "guestName" | "qemuArgs" | "bridge">> & Pick<NicSpec, "guestName" | "bridge">;

export type Role = "node" | "host";

/** A file put into the guest before it boots (root-owned; parent directories are created). */
export type GuestFile = string | { readonly content: string; readonly mode: number };

export interface VmOptions {
  /** An image, or a release to build/find one for. */
  readonly image: LabImage | Release;
  readonly role: Role;
  /** Network namespace holding the bridges; QEMU runs in it. */
  readonly netns: string;
  readonly nics: readonly NicSpec[];
  /** How the lab reaches the guest: a namespace that routes to `address`, and the login. */
  readonly ssh: { readonly netns: string; readonly address: string; readonly user?: string };
  /** Shown in QEMU's -name and in errors. */
  readonly name?: string;
  readonly memoryMiB?: number;
  readonly smp?: number;
  readonly cpu?: string;
  /** More kernel arguments. */
  readonly append?: readonly string[];
  /** NoCloud seed files (meta-data, user-data, network-config, vendor-data), as a `cidata` ISO. */
  readonly seed?: Readonly<Record<string, string>>;
  /** Files by guest path, unpacked over / before udev and the network start. */
  readonly files?: Readonly<Record<string, GuestFile>>;
  /** Put the lab key into root's authorized_keys. Default: for a host, not for a node (its seed does). */
  readonly authorizeRoot?: boolean;
  /** Arguments for the root disk instead of the runner's virtio0 (a Proxmox-like virtio-blk at 0xa). */
  readonly diskArgs?: (overlay: string) => string[];
  /** Arguments for the seed instead of the runner's ide2 CD. */
  readonly seedArgs?: (iso: string) => string[];
  /** Anything else for QEMU (devices, -machine options), appended last. */
  readonly extraArgs?: readonly string[];
}

export interface SshOptions {
  readonly timeoutMs?: number;
  readonly user?: string;
  readonly input?: string;
}

/** Kernel arguments of each role: one image serves both. */
const ROLE_APPEND: Record<Role, string[]> = {
  node: ["systemd.mask=networking.service", "systemd.mask=ifupdown2-pre.service"],
  host: ["cloud-init=disabled", ...["systemd-networkd.service", "systemd-networkd.socket", "systemd-networkd-wait-online.service"].map((u) => `systemd.mask=${u}`)],
};

const ACCEL = process.env.PVE_DUALNET_LAB_ACCEL === "kvm" ? "kvm" : "tcg";
/**
 * Proxmox VE 8's default CPU type, x86-64-v2-AES (qemu-server's built-in model: qemu64 and these
 * flags). `max` would also offer SVM, AVX2 and more, and the guest would load kvm_amd and crypto
 * modules it never uses: seconds at every boot under TCG.
 */
export const PVE_DEFAULT_CPU = "qemu64,+aes,+popcnt,+pni,+sse4.1,+sse4.2,+ssse3";
/**
 * Under TCG the model needs PCLMULQDQ too: bookworm's aesni_intel uses it for GCM without asking
 * CPUID. KVM runs the instruction whatever CPUID says; TCG raises #UD (an oops in udev's worker
 * and a boot that never finishes).
 */
const DEFAULT_CPU = ACCEL === "kvm" ? PVE_DEFAULT_CPU : `${PVE_DEFAULT_CPU},+pclmulqdq`;

/**
 * Guests running at once on this machine, across processes (test runs, other suites): a guest
 * holds one of these flock(1) slots from before its taps are made until destroy() or QEMU's exit.
 */
const MAX_GUESTS = Number(process.env.PVE_DUALNET_LAB_MAX_GUESTS ?? 2);
/** Machine-wide, not under TMPDIR (a lab run moves TMPDIR to its own directory). */
const SLOTS_DIR = "/run/lock/pve-dualnet-lab-guests";

/**
 * Waits for a free slot. Each slot is held by a child (`flock -n slot cat`) that lives as long as
 * its stdin: released by ending it, and by the kernel if this process dies.
 */
async function acquireGuestSlot(timeoutMs = 60 * 60_000): Promise<() => void> {
  mkdirSync(SLOTS_DIR, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (let i = 0; i < MAX_GUESTS; i++) {
      const holder = spawn("flock", ["-n", "-E", "75", path.join(SLOTS_DIR, `slot-${i}`), "sh", "-c", "echo held; exec cat >/dev/null"], { stdio: ["pipe", "pipe", "ignore"] });
      const held = await new Promise<boolean>((resolve) => {
        holder.stdout!.once("data", () => resolve(true));
        holder.once("exit", () => resolve(false));
      });
      if (held) {
        // A guest a test forgot to destroy must not keep the process alive through its slot.
        holder.unref();
        for (const stream of [holder.stdin, holder.stdout] as unknown as { unref?: () => void }[]) stream.unref?.();
        return () => holder.stdin!.end();
      }
    }
    if (Date.now() > deadline) throw new Error(`no guest slot free within ${timeoutMs} ms (PVE_DUALNET_LAB_MAX_GUESTS=${MAX_GUESTS}; holders: fuser ${SLOTS_DIR}/*)`);
    await sleep(2000);
  }
}

/** All guests of this process, killed if it exits with them still running. */
const running = new Set<Vm>();
process.on("exit", () => {
  for (const vm of running) vm.killNow();
});

let labKey: Promise<{ readonly dir: string; readonly privateKey: string; readonly publicKey: string }> | undefined;
/** The key pair of this lab run: made once per process, removed when it exits. */
export function labKeyPair() {
  labKey ??= (async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pvdn-key-"));
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    const privateKey = path.join(dir, "id_ed25519");
    const made = await runTool("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "pve-dualnet-lab", "-f", privateKey]);
    if (made.status !== 0) throw new Error(`ssh-keygen: ${made.stderr}`);
    return { dir, privateKey, publicKey: readFileSync(`${privateKey}.pub`, "utf8").trim() };
  })();
  return labKey;
}

async function must(what: string, result: Promise<ToolResult>): Promise<ToolResult> {
  const r = await result;
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r;
}

const randomMac = () => `bc:24:11:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, "0")).join(":")}`;

/** The runner's -netdev/-device pair for a NIC, as qemu-server writes it (vhost is left off under TCG). */
export function defaultNicArgs(nic: Nic, index: number): string[] {
  const mq = nic.queues > 1;
  return [
    "-netdev",
    `type=tap,id=net${index},ifname=${nic.tap},script=no,downscript=no${mq ? `,queues=${nic.queues}` : ""}`,
    "-device",
    `virtio-net-pci,mac=${nic.mac},netdev=net${index},id=net${index},bus=pci.0,addr=${nic.addr}${mq ? `,mq=on,vectors=${2 * nic.queues + 2}` : ""},host_mtu=${nic.mtu}`,
  ];
}

/** A udev .link file naming the NIC with this MAC; the permanent address never matches a bridge that copies it. */
const linkFile = (mac: string, name: string) => `[Match]\nPermanentMACAddress=${mac}\n\n[Link]\nName=${name}\n`;

/** One QMP command over a fresh connection (the monitor serves one client at a time). */
function qmp(socket: string, command: string, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    const timer = setTimeout(() => (conn.destroy(), reject(new Error(`QMP ${command}: no answer`))), timeoutMs);
    let buffer = "";
    let greeted = false;
    conn.on("error", (e) => (clearTimeout(timer), reject(e)));
    conn.on("data", (data) => {
      buffer += data;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const message = JSON.parse(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        if (message.QMP) conn.write(JSON.stringify({ execute: "qmp_capabilities" }) + "\n");
        else if (message.event) continue;
        else if (!greeted) {
          greeted = true;
          conn.write(JSON.stringify({ execute: command }) + "\n");
        } else {
          clearTimeout(timer);
          conn.end();
          if (message.error) reject(new Error(`QMP ${command}: ${message.error.desc}`));
          else resolve(message.return);
        }
      }
    });
  });
}

export class Vm {
  /** When QEMU was started (ms since the epoch). */
  readonly startedAt = Date.now();
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private destroyed = false;

  private constructor(
    readonly options: VmOptions,
    readonly name: string,
    readonly image: LabImage,
    readonly nics: readonly Nic[],
    readonly dir: string,
    private readonly key: { readonly privateKey: string },
    private readonly qemu: ChildProcess,
    releaseSlot: () => void,
    /** How long the guest waited for a slot before QEMU started (ms). */
    readonly queuedMs: number,
  ) {
    running.add(this);
    this.exited = new Promise((resolve) =>
      qemu.on("exit", (code) => {
        releaseSlot();
        resolve((this.exitCode = code));
      }),
    );
  }

  /** Starts QEMU (it does not wait for the guest: see waitForSsh). */
  static async start(options: VmOptions): Promise<Vm> {
    const name = options.name ?? uniqueName("vm");
    const [image, key] = await Promise.all([typeof options.image === "string" ? labImage(options.image) : options.image, labKeyPair()]);
    const nics: Nic[] = options.nics.map((spec, i) => ({
      mac: (spec.mac ?? randomMac()).toLowerCase(),
      tap: spec.tap ?? `${uniqueName("t")}i${i}`,
      bridge: spec.bridge,
      queues: spec.queues ?? 1,
      mtu: spec.mtu ?? 1500,
      addr: spec.addr ?? `0x${(0x12 + i).toString(16)}`,
      guestName: spec.guestName,
    }));
    const queued = Date.now();
    const releaseSlot = await acquireGuestSlot();
    const queuedMs = Date.now() - queued;
    const dir = mkdtempSync(path.join(tmpdir(), "pvdn-vm-"));
    const madeTaps: string[] = [];
    try {
      const overlay = path.join(dir, "root.qcow2");
      const args = ["-name", name, "-nodefaults", "-no-user-config", "-machine", "pc", "-accel", ACCEL, "-cpu", options.cpu ?? DEFAULT_CPU];
      args.push("-m", String(options.memoryMiB ?? 1024), "-smp", String(options.smp ?? 2), "-display", "none");
      args.push("-kernel", image.kernel, "-initrd", image.initrd);
      args.push("-append", [image.append, "console=ttyS0", ...ROLE_APPEND[options.role], ...(options.append ?? [])].join(" "));
      args.push("-serial", `file:${path.join(dir, "serial.log")}`, "-qmp", `unix:${path.join(dir, "qmp.sock")},server=on,wait=off`);
      // For the lab run's teardown, which kills what a crashed test left running.
      args.push("-pidfile", path.join(dir, "qemu.pid"));
      args.push(...(options.diskArgs ?? defaultDiskArgs)(overlay));

      const jobs: Promise<unknown>[] = [must("qemu-img create", runTool("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image.disk, overlay]))];
      if (options.seed) {
        const iso = path.join(dir, "seed.iso");
        jobs.push(writeSeed(path.join(dir, "seed"), iso, options.seed));
        args.push(...(options.seedArgs ?? defaultSeedArgs)(iso));
      }
      const files: Record<string, GuestFile> = { ...options.files };
      for (const nic of nics) if (nic.guestName) files[`/etc/systemd/network/10-pvdn-${nic.guestName}.link`] = linkFile(nic.mac, nic.guestName);
      if (options.authorizeRoot ?? options.role === "host") files["/root/.ssh/authorized_keys"] = { content: `${(await labKeyPair()).publicKey}\n`, mode: 0o600 };
      if (Object.keys(files).length) {
        const tar = path.join(dir, "files.tar");
        jobs.push(writeFilesTar(path.join(dir, "files"), tar, files));
        args.push("-fw_cfg", `name=opt/pvdn/files.tar,file=${tar}`);
      }
      for (const [i, nic] of nics.entries()) {
        jobs.push(makeTap(options.netns, nic).then(() => madeTaps.push(nic.tap)));
        args.push(...(options.nics[i]!.qemuArgs ?? defaultNicArgs)(nic, i));
      }
      args.push(...(options.extraArgs ?? []));
      const settled = await Promise.allSettled(jobs);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed) throw failed.reason;

      writeFileSync(path.join(dir, "qemu.argv"), args.join("\n") + "\n");
      const log = createWriteStream(path.join(dir, "qemu.log"));
      const qemu = spawn("ip", ["netns", "exec", options.netns, "qemu-system-x86_64", ...args], { stdio: ["ignore", "pipe", "pipe"] });
      qemu.stdout!.pipe(log);
      qemu.stderr!.pipe(log);
      return new Vm(options, name, image, nics, dir, key, qemu, releaseSlot, queuedMs);
    } catch (e) {
      releaseSlot();
      await removeTaps(options.netns, madeTaps);
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** The guest's serial console so far (kernel, systemd, getty). */
  serialLog(): string {
    try {
      return readFileSync(path.join(this.dir, "serial.log"), "utf8");
    } catch {
      return "";
    }
  }

  /** QEMU's own messages. */
  qemuLog(): string {
    try {
      return readFileSync(path.join(this.dir, "qemu.log"), "utf8");
    } catch {
      return "";
    }
  }

  get isRunning(): boolean {
    return this.exitCode === undefined;
  }

  /** Runs a command in the guest over SSH from the lab's namespace. */
  ssh(command: string, options: SshOptions = {}): Promise<ToolResult> {
    const { netns, address, user } = this.options.ssh;
    const seconds = Math.ceil((options.timeoutMs ?? 60_000) / 1000);
    const sshArgs = ["-i", this.key.privateKey, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"];
    sshArgs.push("-o", "ConnectTimeout=5", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3");
    // One connection per login, reused: a new one costs seconds under TCG (key exchange, PAM, systemd --user).
    sshArgs.push("-o", "ControlMaster=auto", "-o", `ControlPath=${path.join(this.dir, "ssh-%r")}`, "-o", "ControlPersist=120");
    const login = `${options.user ?? user ?? "root"}@${address}`;
    return runTool("timeout", ["-k", "5", String(seconds), "ip", "netns", "exec", netns, "ssh", ...sshArgs, login, "--", command], { input: options.input });
  }

  /** Waits until SSH answers; returns how long since QEMU started (ms). */
  async waitForSsh(options: { timeoutMs?: number; user?: string } = {}): Promise<number> {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    let last: ToolResult | undefined;
    while (Date.now() < deadline) {
      if (!this.isRunning) throw new Error(`${this.name}: QEMU exited (${this.exitCode}) before SSH answered\n${this.diagnostics()}`);
      last = await this.ssh("true", { timeoutMs: 20_000, user: options.user });
      if (last.status === 0) return Date.now() - this.startedAt;
      await sleep(1000);
    }
    throw new Error(`${this.name}: no SSH within ${options.timeoutMs ?? 600_000} ms (last: ${last?.stderr.trim()})\n${this.diagnostics()}`);
  }

  /** The kernel's boot ID: a new one after every boot. */
  async bootId(): Promise<string> {
    const r = await this.ssh("cat /proc/sys/kernel/random/boot_id", { timeoutMs: 20_000 });
    if (r.status !== 0) throw new Error(`${this.name}: cannot read the boot ID: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** A clean reboot (systemctl reboot); resolves once SSH answers from the new boot (ms taken). */
  async reboot(options: { timeoutMs?: number } = {}): Promise<number> {
    const before = await this.bootId();
    const started = Date.now();
    // The connection may die with sshd: the new boot ID is the answer, not this command's status.
    await this.ssh("systemctl reboot", { timeoutMs: 20_000 });
    return this.waitForNewBoot(before, started, options.timeoutMs);
  }

  /** A hard reset (QMP system_reset, as a power cycle without a shutdown); resolves once SSH answers again (ms taken). */
  async hardReset(options: { timeoutMs?: number } = {}): Promise<number> {
    const before = await this.bootId();
    const started = Date.now();
    await this.qmp("system_reset");
    return this.waitForNewBoot(before, started, options.timeoutMs);
  }

  private async waitForNewBoot(before: string, started: number, timeoutMs = 600_000): Promise<number> {
    const deadline = started + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.isRunning) throw new Error(`${this.name}: QEMU exited (${this.exitCode}) during the reboot\n${this.diagnostics()}`);
      const r = await this.ssh("cat /proc/sys/kernel/random/boot_id", { timeoutMs: 20_000 });
      if (r.status === 0 && r.stdout.trim() !== before) return Date.now() - started;
      await sleep(1000);
    }
    throw new Error(`${this.name}: no new boot within ${timeoutMs} ms\n${this.diagnostics()}`);
  }

  qmp(command: string): Promise<unknown> {
    return qmp(path.join(this.dir, "qmp.sock"), command);
  }

  /** ACPI power-off (QMP system_powerdown); QMP quit, then SIGKILL, when the guest does not comply in time. Cleans up. */
  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.isRunning) {
      const down = await this.qmp("system_powerdown").then(
        () => this.exitsWithin(options.timeoutMs ?? 60_000),
        () => false,
      );
      if (!down) await this.qmp("quit").catch(() => undefined);
      if (!down && !(await this.exitsWithin(5000))) this.killNow();
    }
    await this.destroy();
  }

  private exitsWithin(ms: number): Promise<boolean> {
    // An unref'd timer: a guest that is gone must not keep the test process waiting.
    return Promise.race([this.exited.then(() => true), sleep(ms, false, { ref: false })]);
  }

  /** SIGKILL to QEMU (a power loss), then cleans up. */
  async kill(): Promise<void> {
    this.killNow();
    await this.destroy();
  }

  /** SIGKILL, synchronously (also from the process's exit handler). */
  killNow(): void {
    if (this.isRunning) this.qemu.kill("SIGKILL");
  }

  /** Kills QEMU if it still runs and removes its taps and files. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.killNow();
    await this.exited;
    running.delete(this);
    // The SSH connections kept for reuse (one control socket per login).
    const sockets = readdirSync(this.dir).filter((f) => f.startsWith("ssh-"));
    await Promise.all(sockets.map((s) => runTool("ssh", ["-o", `ControlPath=${path.join(this.dir, s)}`, "-O", "exit", "guest"])));
    await removeTaps(this.options.netns, this.nics.map((n) => n.tap));
    if (!process.env.PVE_DUALNET_LAB_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }

  /** The end of the serial console and QEMU's messages, for errors. */
  diagnostics(): string {
    const tail = this.serialLog().split("\n").slice(-40).join("\n");
    const cloudInit = this.guestFile("/var/log/cloud-init.log");
    const cloudInitTail = cloudInit ? `\n--- ${this.name} /var/log/cloud-init.log (last 40 lines) ---\n${cloudInit.split("\n").slice(-40).join("\n")}` : "";
    return `--- ${this.name} serial console (last 40 lines) ---\n${tail}${cloudInitTail}\n--- qemu ---\n${this.qemuLog().slice(-2000)}`;
  }

  /**
   * A file of the guest's disk as it is now, read without the guest (a boot that never answers
   * SSH): the overlay copied to a raw image (-U: QEMU may still hold it), read by debugfs.
   * Undefined when it cannot be read.
   */
  guestFile(file: string): string | undefined {
    const raw = path.join(this.dir, "diagnostics.raw");
    try {
      if (spawnSync("qemu-img", ["convert", "-U", "-O", "raw", path.join(this.dir, "root.qcow2"), raw], { timeout: 120_000 }).status !== 0) return undefined;
      const read = spawnSync("debugfs", ["-R", `cat ${file}`, raw], { encoding: "utf8", timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
      return read.status === 0 && read.stdout ? read.stdout : undefined;
    } finally {
      rmSync(raw, { force: true });
    }
  }
}

const defaultDiskArgs = (overlay: string) => [
  "-drive",
  `file=${overlay},if=none,id=drive-virtio0,format=qcow2,cache=unsafe,discard=unmap`,
  "-device",
  "virtio-blk-pci,drive=drive-virtio0,id=virtio0,bus=pci.0,addr=0xa",
];

/** As Proxmox attaches a cloud-init drive by default: a CD on ide2. */
const defaultSeedArgs = (iso: string) => ["-drive", `file=${iso},if=none,id=drive-ide2,media=cdrom,format=raw`, "-device", "ide-cd,bus=ide.1,unit=0,drive=drive-ide2,id=ide2"];

async function makeTap(netns: string, nic: Nic): Promise<void> {
  const commands = [`tuntap add dev ${nic.tap} mode tap${nic.queues > 1 ? " multi_queue" : ""}`, `link set ${nic.tap} mtu ${nic.mtu}${nic.bridge ? ` master ${nic.bridge}` : ""} up`];
  await must(`tap ${nic.tap} in ${netns}`, runTool("ip", ["-n", netns, "-batch", "-"], { input: commands.join("\n") + "\n" }));
}

async function removeTaps(netns: string, taps: readonly string[]): Promise<void> {
  if (taps.length) await runTool("ip", ["-n", netns, "-force", "-batch", "-"], { input: taps.map((t) => `link del ${t}`).join("\n") + "\n" });
}

/** A NoCloud seed as Proxmox makes one: an ISO 9660 image with Rock Ridge names, labelled cidata. */
async function writeSeed(dir: string, iso: string, seed: Readonly<Record<string, string>>): Promise<void> {
  mkdirSync(dir);
  for (const [name, content] of Object.entries(seed)) writeFileSync(path.join(dir, name), content);
  await must("genisoimage (Debian package genisoimage)", runTool("genisoimage", ["-quiet", "-R", "-V", "cidata", "-o", iso, dir]));
}

/** The files as a root-owned tar; directories made for them are 0755 (0700 for .ssh). */
async function writeFilesTar(dir: string, tar: string, files: Readonly<Record<string, GuestFile>>): Promise<void> {
  for (const [guestPath, file] of Object.entries(files)) {
    const target = path.join(dir, guestPath);
    mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    const { content, mode } = typeof file === "string" ? { content: file, mode: 0o644 } : file;
    writeFileSync(target, content, { mode });
  }
  await runTool("sh", ["-c", `find "$1" -type d -name .ssh -exec chmod 700 {} +`, "sh", dir]);
  await must("tar", runTool("tar", ["-C", dir, "--owner=0", "--group=0", "--numeric-owner", "-cf", tar, "."]));
}

/** SIGKILL to every QEMU started with a work directory under `dir` (a lab run's, after its tests). */
export function killGuestsUnder(dir: string): void {
  for (const name of readdirSync(dir).filter((n) => n.startsWith("pvdn-vm-"))) {
    try {
      const pid = Number(readFileSync(path.join(dir, name, "qemu.pid"), "utf8"));
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("qemu-system")) process.kill(pid, "SIGKILL");
    } catch {
      // no pid file, or the guest is gone
    }
  }
}

/** Whether this machine can boot lab guests: QEMU, genisoimage and (for KVM) /dev/kvm. */
export function canBootGuests(): boolean {
  return spawnSync("sh", ["-c", `command -v qemu-system-x86_64 && command -v qemu-img && command -v genisoimage && command -v mmdebstrap && [ -c /dev/net/tun ]${ACCEL === "kvm" ? " && [ -c /dev/kvm ]" : ""}`]).status === 0;
}
