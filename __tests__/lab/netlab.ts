/**
 * A throw-away network for applying host files for real: a "host" network namespace whose
 * enp4s0/enp5s0 are veth pairs into a "lan" namespace that plays the router (192.168.0.1 on the
 * external side) and another Proxmox node (10.0.0.3 on the internal side). Namespace names are
 * unique per lab, the veths are created inside the namespaces (never in the machine's own), and
 * every command runs in the lab's Sandbox, so labs run side by side and leave nothing behind.
 *
 * Everything is asynchronous: labs run concurrently in one test process, and a synchronous
 * spawn in one would stall the others' clocks (a dead-man switch does not wait for the test).
 */
import { spawnSync } from "node:child_process";
import { runTool } from "./tools";
import { Sandbox, uniqueName, type RunResult } from "./sandbox";

/** The host's NICs and their switch ports in the lan namespace. */
const NICS = [
  ["enp4s0", "lan4"],
  ["enp5s0", "lan5"],
] as const;

export const LAN = {
  gateway: "192.168.0.1",
  /** The other Proxmox node's internal address. */
  peer: "10.0.0.3",
} as const;

const sh = (script: string): Promise<RunResult> => runTool("sh", ["-c", script]).then((r) => ({ ...r, signal: null }));
const inNamespace = (netns: string, command: string): Promise<RunResult> => runTool("ip", ["netns", "exec", netns, "sh", "-c", command]).then((r) => ({ ...r, signal: null }));

/** Whether this machine can run labs: root, iproute2, unshare, ping and ifupdown2. */
export function canRunLabs(): boolean {
  const probe = spawnSync("sh", ["-c", '[ "$(id -u)" = 0 ] && command -v unshare && command -v ping && command -v ifreload && ip netns list']);
  return probe.status === 0;
}

export class NetLab {
  readonly host = uniqueName("pvdnh");
  readonly lan = uniqueName("pvdnl");
  readonly sandbox = new Sandbox("pvdn-lab-");

  private constructor() {}

  static async create(): Promise<NetLab> {
    const lab = new NetLab();
    const { host, lan } = lab;
    // Three `ip -batch` runs, not a process per step. Each veth end is created in its namespace.
    const steps: [string[], string[]][] = [
      [[], [`netns add ${host}`, `netns add ${lan}`, ...NICS.map(([nic, port]) => `link add ${nic} netns ${host} type veth peer name ${port} netns ${lan}`)]],
      [["-n", host], ["link set lo up"]],
      [["-n", lan], ["link set lo up", ...NICS.map(([, port]) => `link set ${port} up`), `addr add ${LAN.gateway}/24 dev lan4`, `addr add ${LAN.peer}/24 dev lan5`]],
    ];
    for (const [options, commands] of steps) {
      const step = await runTool("ip", [...options, "-batch", "-"], { input: commands.join("\n") + "\n" });
      if (step.status !== 0) {
        await lab.destroy();
        throw new Error(`cannot build the network lab: ${step.stderr}`);
      }
    }
    return lab;
  }

  /** Another veth NIC on the host; its switch port (the lan side) is left down when `connected` is false. */
  async addNic(name: string, connected: boolean): Promise<void> {
    const port = `lan${name.replace(/\D/g, "")}`;
    const added = await runTool("ip", ["link", "add", name, "netns", this.host, "type", "veth", "peer", "name", port, "netns", this.lan]);
    const up = added.status === 0 && connected ? await runTool("ip", ["-n", this.lan, "link", "set", port, "up"]) : added;
    if (up.status !== 0) throw new Error(`cannot add ${name}: ${up.stderr}`);
  }

  /** Runs a script on the "host": its network namespace and the sandbox's private directories. */
  run(script: string, options: { env?: NodeJS.ProcessEnv } = {}) {
    return this.sandbox.runAsync(script, { netns: this.host, ...options });
  }

  /** A command in the host namespace only (no private mounts): for looking at links and routes. */
  inHost(command: string): Promise<RunResult> {
    return inNamespace(this.host, command);
  }

  inLan(command: string): Promise<RunResult> {
    return inNamespace(this.lan, command);
  }

  /** `ip -j` output of the host, parsed (`ip -n`: no shell, no namespace switch of /sys). */
  async hostJson(args: string): Promise<any[]> {
    return JSON.parse((await runTool("ip", ["-n", this.host, "-j", ...args.split(" ")])).stdout || "[]");
  }

  async destroy(): Promise<void> {
    await sh(`ip netns pids ${this.host} 2>/dev/null | xargs -r kill -9; ip netns pids ${this.lan} 2>/dev/null | xargs -r kill -9
        ip netns del ${this.host} 2>/dev/null; ip netns del ${this.lan} 2>/dev/null; true`);
    this.sandbox.remove();
  }
}
