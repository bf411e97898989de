// After the run: its temporary directory goes, whatever the tests left in it (see global-setup.mjs).
import { rmSync } from "node:fs";

export default async function globalTeardown() {
  const runDir = globalThis.__PVE_DUALNET_RUN_DIR__;
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}
