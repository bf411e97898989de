/**
 * The programs pve-dualnet runs on Proxmox hosts: real files in host/, with their own tests
 * (shellcheck, and fault injection in network namespaces), uploaded as they are.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";

/** A file uploaded to a host. */
export interface Upload {
  /** File name in the staging directory. */
  readonly name: string;
  /** Literal content. */
  readonly content: string;
}

/** host/ beside constructs/ in the sources, and beside dist/ in the bundled app. */
const HOST_DIR = path.join(__dirname, "..", "host");

export const NETWORK_PROGRAM = "pve-dualnet-network.sh";
/** The library both programs load from their own directory (log, locks, the pending marker). */
export const HOST_LIBRARY = "pve-dualnet-lib.sh";
export const NETWORK_GUARD_UNIT = "pve-dualnet-network-guard.service";
export const SYSCTL_PROGRAM = "pve-dualnet-sysctl.sh";

export function hostProgram(name: typeof NETWORK_PROGRAM | typeof HOST_LIBRARY | typeof NETWORK_GUARD_UNIT | typeof SYSCTL_PROGRAM): Upload {
  return { name, content: readFileSync(path.join(HOST_DIR, name), "utf8") };
}
