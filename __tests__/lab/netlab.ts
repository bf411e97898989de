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

export const LAN = {
  gateway: "192.168.0.1",
  /** The other Proxmox node's internal address. */
  peer: "10.0.0.3",
} as const;

const sh = (script: string): Promise<RunResult> => runTool("sh", ["-c", script]).then((r) => ({ ...r, signal: null }));

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
    const setup = await sh(`set -e
      ip netns add ${lab.host}; ip netns add ${lab.lan}
      ip -n ${lab.host} link set lo up; ip -n ${lab.lan} link set lo up
      ip -n ${lab.host} link add enp4s0 type veth peer name lan4 netns ${lab.lan}
      ip -n ${lab.host} link add enp5s0 type veth peer name lan5 netns ${lab.lan}
      ip -n ${lab.lan} link set lan4 up; ip -n ${lab.lan} link set lan5 up
      ip -n ${lab.lan} addr add ${LAN.gateway}/24 dev lan4
      ip -n ${lab.lan} addr add ${LAN.peer}/24 dev lan5`);
    if (setup.status !== 0) {
      await lab.destroy();
      throw new Error(`cannot build the network lab: ${setup.stderr}`);
    }
    return lab;
  }

  /** Another veth NIC on the host; its switch port (the lan side) is left down when `connected` is false. */
  async addNic(name: string, connected: boolean): Promise<void> {
    const peer = `lan${name.replace(/\D/g, "")}`;
    const r = await sh(`set -e; ip -n ${this.host} link add ${name} type veth peer name ${peer} netns ${this.lan}; ${connected ? `ip -n ${this.lan} link set ${peer} up` : "true"}`);
    if (r.status !== 0) throw new Error(`cannot add ${name}: ${r.stderr}`);
  }

  /** Runs a script on the "host": its network namespace and the sandbox's private directories. */
  run(script: string, options: { env?: NodeJS.ProcessEnv } = {}) {
    return this.sandbox.runAsync(script, { netns: this.host, ...options });
  }

  /** A command in the host namespace only (no private mounts): for looking at links and routes. */
  inHost(command: string): Promise<RunResult> {
    return sh(`exec ip netns exec ${this.host} sh -c '${command.replace(/'/g, `'\\''`)}'`);
  }

  inLan(command: string): Promise<RunResult> {
    return sh(`exec ip netns exec ${this.lan} sh -c '${command.replace(/'/g, `'\\''`)}'`);
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
