/**
 * The wires a lab guest plugs into: a NetLab (__tests__/lab/netlab.ts) whose "host" namespace
 * gets Proxmox's two bridges, vmbr0 on enp4s0 (external; the lan namespace is its router,
 * 192.168.0.1) and vmbr1 on enp5s0 (internal, MTU 9000; the lan namespace is another node,
 * 10.0.0.3). Guests' taps go on the bridges; SSH reaches them from the lan namespace.
 */
import { NetLab, LAN } from "../__tests__/lab/netlab";
import { runTool } from "../__tests__/lab/tools";

export { LAN };

export const INTERNAL_MTU = 9000;

export class BridgedNetwork {
  private constructor(readonly lab: NetLab) {}

  /** Namespace of the bridges (QEMU runs here). */
  get host(): string {
    return this.lab.host;
  }

  /** Namespace of the router and the other node (SSH runs from here). */
  get lan(): string {
    return this.lab.lan;
  }

  static async create(): Promise<BridgedNetwork> {
    const lab = await NetLab.create();
    const host = [
      "link add vmbr0 type bridge",
      "link set enp4s0 master vmbr0 up",
      "link set vmbr0 up",
      `link add vmbr1 mtu ${INTERNAL_MTU} type bridge`,
      `link set enp5s0 mtu ${INTERNAL_MTU} master vmbr1 up`,
      "link set vmbr1 up",
    ];
    for (const [netns, commands] of [
      [lab.host, host],
      [lab.lan, [`link set lan5 mtu ${INTERNAL_MTU}`]],
    ] as const) {
      const r = await runTool("ip", ["-n", netns, "-batch", "-"], { input: commands.join("\n") + "\n" });
      if (r.status !== 0) {
        await lab.destroy();
        throw new Error(`cannot make the lab bridges: ${r.stderr}`);
      }
    }
    return new BridgedNetwork(lab);
  }

  destroy(): Promise<void> {
    return this.lab.destroy();
  }
}
