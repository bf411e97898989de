/** After the lab's tests: guests a test left running are killed and the run's directory goes (see global-setup.ts). */
import { rmSync } from "node:fs";
import { killGuestsUnder } from "./qemu";

export default async function globalTeardown(): Promise<void> {
  const runDir = (globalThis as { __PVE_DUALNET_LAB_RUN_DIR__?: string }).__PVE_DUALNET_LAB_RUN_DIR__;
  if (!runDir) return;
  killGuestsUnder(runDir);
  rmSync(runDir, { recursive: true, force: true });
}
