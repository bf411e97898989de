// Global setup of `npm test`: the project's own (../global-setup.mjs), and beside it the root of the
// Debian 13 judges (scripts/judges/debian13.sh: built once per machine, a lookup afterwards). The
// test processes learn where it is, or why there is none, from the environment (debian13.ts).
import { spawn } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import projectSetup from "../global-setup.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.join(here, "..", "..", "scripts", "judges", "debian13.sh");
const DIR_ENV = "PVE_DUALNET_DEBIAN13_DIR";
const UNAVAILABLE_ENV = "PVE_DUALNET_DEBIAN13_UNAVAILABLE";

/** Runs the script: its directory, or the reason it gave (its last line of errors). */
function ensureDebian13() {
  if (process.getuid?.() !== 0) return Promise.resolve({ reason: "the Debian 13 judges run in a chroot: they need root" });
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    // A lookup takes milliseconds; a build minutes, and says so once.
    const notice = setTimeout(() => process.stderr.write(`\nBuilding the Debian 13 judges once for this machine (1-3 min): ${SCRIPT}\n`), 2000);
    const child = spawn(SCRIPT, [], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", (error) => {
      clearTimeout(notice);
      resolve({ reason: `${SCRIPT}: ${error.message}` });
    });
    child.on("close", (status) => {
      clearTimeout(notice);
      if (status === 0) return resolve({ dir: stdout.trim() });
      const lines = stderr.trim().split("\n");
      // In CI the whole log helps; locally one line says enough.
      if (process.env.CI) process.stderr.write(`\n${SCRIPT} failed:\n${lines.slice(-40).join("\n")}\n`);
      resolve({ reason: lines.pop() || `${SCRIPT} exited ${status}` });
    });
  });
}

export default async function globalSetup(globalConfig, projectConfig) {
  const [, debian13] = await Promise.all([projectSetup(globalConfig, projectConfig), ensureDebian13()]);
  if (debian13.dir) {
    process.env[DIR_ENV] = debian13.dir;
  } else {
    process.env[UNAVAILABLE_ENV] = debian13.reason;
    // CI fails those tests with the reason (debian13.ts); here they are skipped.
    if (!process.env.CI) process.stderr.write(`\nDebian 13 judges unavailable, their checks are skipped: ${debian13.reason}\n`);
  }
}
