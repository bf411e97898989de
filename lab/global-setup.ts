/**
 * Before the lab's tests: the images are built (or found in the cache), and the run gets a
 * temporary directory of its own (TMPDIR for the tests: guests' work directories, the run's key
 * pair) that lab/global-teardown.ts removes after killing any guest a test left running.
 * Tests see the images through PVE_DUALNET_LAB_IMAGE_<RELEASE> (lab/image.ts);
 * PVE_DUALNET_LAB_RELEASES narrows the list.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { canBootGuests, killGuestsUnder } from "./qemu";
import { labImage, RELEASES, type Release } from "./image";

export const LAB_RUN_PREFIX = "pve-dualnet-lab-";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

export default async function globalSetup(): Promise<void> {
  if (!canBootGuests()) return; // the tests say what is missing
  const wanted = (process.env.PVE_DUALNET_LAB_RELEASES?.split(",") ?? RELEASES) as Release[];
  for (const release of wanted) {
    const started = Date.now();
    const image = await labImage(release, { log: (line) => process.stderr.write(`${line}\n`) });
    process.stderr.write(`lab image ${release} (Debian ${image.version}) ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${image.dir}\n`);
  }
  const top = tmpdir();
  // A run that was killed left its directory (and maybe guests): clean up once its jest is gone.
  for (const name of readdirSync(top)) {
    const pid = Number(name.startsWith(LAB_RUN_PREFIX) && name.slice(LAB_RUN_PREFIX.length).split("-")[0]);
    if (pid && !alive(pid)) {
      killGuestsUnder(path.join(top, name));
      rmSync(path.join(top, name), { recursive: true, force: true });
    }
  }
  const runDir = mkdtempSync(path.join(top, `${LAB_RUN_PREFIX}${process.pid}-`));
  process.env.TMPDIR = runDir;
  (globalThis as { __PVE_DUALNET_LAB_RUN_DIR__?: string }).__PVE_DUALNET_LAB_RUN_DIR__ = runDir;
}
