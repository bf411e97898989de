/**
 * The SSH public keys the VMs' cloud-init user gets: inline in the description, from files it
 * names (relative to the description's directory, `~` for the home directory), and from the
 * environment (PVE_DUALNET_SSH_PUBLIC_KEYS, one key per line). Only public keys are accepted, and
 * a key's comment is text like any value of the description (config/text.ts).
 */
import { homedir } from "node:os";
import * as path from "node:path";
import type { ConfigIssue } from "./errors";
import { readBoundedFile } from "./files";
import { PUBLIC_KEY, type ClusterConfig } from "./schema";
import { secretIn } from "./secrets";
import { cdktfTokenMarker, unprintableCharacter } from "./text";

export const SSH_KEYS_ENV = "PVE_DUALNET_SSH_PUBLIC_KEYS";
/** A key file holds a few keys: an RSA-16384 public key is about 2.8 KiB. */
const MAX_KEY_FILE_BYTES = 64 << 10;

const keyLines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));

/** Why a line is not a public key we accept, or undefined. The line itself is never repeated. */
function keyLineProblem(line: string): string | undefined {
  if (secretIn(line)) return "holds a private key or another credential";
  if (!PUBLIC_KEY.test(line)) return "is not an OpenSSH public key";
  if (unprintableCharacter(line) || cdktfTokenMarker(line)) return "has a comment that is not printable text";
  return undefined;
}

/** The first bad line of a list of key lines, as "line N of SOURCE ...". */
function firstProblem(lines: readonly string[], source?: string): string | undefined {
  for (const [i, line] of lines.entries()) {
    const problem = keyLineProblem(line);
    if (problem) return `line ${i + 1}${source ? ` of ${source}` : ""} ${problem}`;
  }
  return undefined;
}

export function resolveSshKeys(config: ClusterConfig, env: NodeJS.ProcessEnv, baseDir: string): { keys: string[]; issues: ConfigIssue[] } {
  const cloudInit = config.vmDefaults.cloudInit;
  const keys = [...cloudInit.sshKeys];
  const issues: ConfigIssue[] = [];
  cloudInit.sshKeyFiles.forEach((file, i) => {
    const where = `vmDefaults.cloudInit.sshKeyFiles[${i}]`;
    const resolved = file.startsWith("~/") ? path.join(homedir(), file.slice(2)) : path.resolve(baseDir, file);
    const read = readBoundedFile(resolved, MAX_KEY_FILE_BYTES);
    if ("problem" in read) {
      const fix = file.startsWith("~/")
        ? "~ is the home directory of whoever runs pve-dualnet, and a CI runner has none of your keys: commit the .pub file beside the description and name it relative to it (e.g. keys/admin.pub), or use sshKeys or PVE_DUALNET_SSH_PUBLIC_KEYS"
        : "name an existing .pub file, relative to the description (ssh-keygen -t ed25519 creates ~/.ssh/id_ed25519.pub; copy it beside the description), or set sshKeys";
      issues.push({ path: where, message: `cannot read ${resolved}: ${read.problem}`, fix });
      return;
    }
    const text = read.bytes.toString("utf8");
    if (/PRIVATE KEY/.test(text)) {
      issues.push({ path: where, message: `${resolved} holds a private key`, fix: "name the public key file instead (the one ending in .pub); private keys never belong in the description" });
      return;
    }
    const lines = keyLines(text);
    const problem = lines.length === 0 ? `${resolved} holds no key` : firstProblem(lines, resolved);
    if (problem) {
      issues.push({ path: where, message: problem, fix: "use a .pub file with one 'ssh-ed25519 AAAA... comment' line per key" });
      return;
    }
    keys.push(...lines);
  });
  const fromEnv = env[SSH_KEYS_ENV];
  if (fromEnv) {
    const lines = keyLines(fromEnv);
    const problem = firstProblem(lines);
    if (problem) {
      issues.push({ path: SSH_KEYS_ENV, message: problem, fix: "put public key lines ('ssh-ed25519 AAAA... comment') in it, one per line" });
    } else keys.push(...lines);
  }
  return { keys: [...new Set(keys)], issues };
}
