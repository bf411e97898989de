/**
 * The SSH public keys the VMs' cloud-init user gets: inline in the description, from files it
 * names (relative to the description's directory, `~` for the home directory), and from the
 * environment (PVE_DUALNET_SSH_PUBLIC_KEYS, one key per line). Only public keys are accepted.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import type { ConfigIssue } from "./errors";
import { PUBLIC_KEY, type ClusterConfig } from "./schema";

export const SSH_KEYS_ENV = "PVE_DUALNET_SSH_PUBLIC_KEYS";

const keyLines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));

export function resolveSshKeys(config: ClusterConfig, env: NodeJS.ProcessEnv, baseDir: string): { keys: string[]; issues: ConfigIssue[] } {
  const cloudInit = config.vmDefaults.cloudInit;
  const keys = [...cloudInit.sshKeys];
  const issues: ConfigIssue[] = [];
  cloudInit.sshKeyFiles.forEach((file, i) => {
    const where = `vmDefaults.cloudInit.sshKeyFiles[${i}]`;
    const resolved = file.startsWith("~/") ? path.join(homedir(), file.slice(2)) : path.resolve(baseDir, file);
    let text: string;
    try {
      text = readFileSync(resolved, "utf8");
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (err as Error).message;
      issues.push({ path: where, message: `cannot read ${resolved}: ${reason}`, fix: "name an existing .pub file (ssh-keygen -t ed25519 creates ~/.ssh/id_ed25519.pub), or set sshKeys" });
      return;
    }
    if (/PRIVATE KEY/.test(text)) {
      issues.push({ path: where, message: `${resolved} holds a private key`, fix: "name the public key file instead (the one ending in .pub); private keys never belong in the description" });
      return;
    }
    const lines = keyLines(text);
    const bad = lines.findIndex((l) => !PUBLIC_KEY.test(l));
    if (lines.length === 0 || bad >= 0) {
      issues.push({ path: where, message: lines.length === 0 ? `${resolved} holds no key` : `line ${bad + 1} of ${resolved} is not an OpenSSH public key`, fix: "use a .pub file with one 'ssh-ed25519 AAAA... comment' line per key" });
      return;
    }
    keys.push(...lines);
  });
  const fromEnv = env[SSH_KEYS_ENV];
  if (fromEnv) {
    const lines = keyLines(fromEnv);
    const bad = lines.findIndex((l) => !PUBLIC_KEY.test(l));
    if (bad >= 0) {
      issues.push({ path: SSH_KEYS_ENV, message: `line ${bad + 1} is not an OpenSSH public key${/PRIVATE KEY/.test(fromEnv) ? " (it holds a private key)" : ""}`, fix: "put public key lines ('ssh-ed25519 AAAA... comment') in it, one per line" });
    } else keys.push(...lines);
  }
  return { keys: [...new Set(keys)], issues };
}
