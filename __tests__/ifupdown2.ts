/** The real ifupdown2 (Debian package `ifupdown2`), used to check rendered files. */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { judged, judgedSync } from "./lab/judged";
import { HOST_PATH, Sandbox } from "./lab/sandbox";

/**
 * The syntax-check warnings the host apply program tolerates (see TOLERATED in
 * host/pve-dualnet-network.sh): the tests judge rendered files exactly as the host will.
 */
export const TOLERATED_SYNTAX_WARNINGS = /^TOLERATED='([^']*)'$/m
  .exec(readFileSync(path.join(__dirname, "..", "host", "pve-dualnet-network.sh"), "utf8"))![1]!
  .split("\n");

const which = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const isRoot = process.getuid?.() === 0;

/**
 * ifupdown2 needs root. CI installs it and runs as root, so there a missing ifupdown2 is a
 * failure, not a skip; on a developer machine without it the checks are skipped.
 */
export function ifupdown2(): boolean {
  const available = which("ifup") && which("ifquery") && isRoot;
  if (!available && process.env.CI) throw new Error("CI must run these checks: install ifupdown2 and run as root (see .ci/run)");
  return available;
}

/**
 * `ifup -a -s -i FILE`: the parser and value checks of ifupdown2. Returns the problems it reports.
 * Even a syntax check takes ifupdown2's machine-wide lock, so it runs in a private sandbox.
 * `fresh` runs ifupdown2 even when the judges' cache knows its answer.
 */
export async function syntaxCheck(text: string, options: { fresh?: boolean } = {}): Promise<string[]> {
  const check = async () => {
    const sandbox = new Sandbox("pvdn-syntax-");
    writeFileSync(sandbox.file("/etc/network", "interfaces.checked"), text);
    const answer = await sandbox.runAsync("exec ifup -a -s -i /etc/network/interfaces.checked");
    sandbox.remove();
    return answer;
  };
  // The sandbox starts from the machine's /etc/network: ifupdown2's own configuration is an input.
  const result = options.fresh ? await check() : await judged({ judge: "ifup -a -s -i", texts: { interfaces: text }, inputs: ["/etc/network/ifupdown2"] }, check);
  const output = `${result.stdout}${result.stderr}`.split("\n").filter((l) => l.trim());
  if (result.status !== 0 && output.length === 0) return [`ifup exited ${result.status} without a message`];
  // Exit status 1 with nothing but tolerated warnings is a pass.
  return output.filter((l) => !TOLERATED_SYNTAX_WARNINGS.some((w) => l.includes(w)));
}

let attributes: Set<string> | undefined;
/** Every attribute ifupdown2's modules accept (`ifquery --syntax-help`); the syntax check ignores unknown ones. */
export function knownAttributes(): Set<string> {
  if (!attributes) {
    const help = judgedSync({ judge: "ifquery --syntax-help" }, () => spawnSync("ifquery", ["--syntax-help"], { encoding: "utf8", env: { ...process.env, PATH: HOST_PATH } })).stdout;
    attributes = new Set(help.split("\n").filter((l) => /^ {2}[a-z0-9-]+$/.test(l)).map((l) => l.trim()));
  }
  return attributes;
}

export interface Stanza {
  readonly method: string;
  readonly options: string[];
}

/** Parses an interfaces file into its stanzas, for precise assertions. */
export function stanzas(text: string): Record<string, Stanza> {
  const out: Record<string, Stanza> = {};
  let current: Stanza | undefined;
  for (const line of text.split("\n")) {
    const iface = /^iface (\S+) inet (\S+)$/.exec(line);
    if (iface) out[iface[1]!] = current = { method: iface[2]!, options: [] };
    else if (/^\s+\S/.test(line) && current) current.options.push(line.trim());
    else if (!line.startsWith("#")) current = undefined;
  }
  return out;
}

/** What Debian 12's ifupdown2 (the machine's) reads from a text: `ifquery -a -o json`'s output, in a sandbox. */
export async function debian12Ifquery(text: string): Promise<string> {
  const result = await judged({ judge: "ifquery -a -o json -i", texts: { interfaces: text }, inputs: ["/etc/network/ifupdown2"] }, async () => {
    const sandbox = new Sandbox("pvdn-ifquery-");
    writeFileSync(sandbox.file("/etc/network", "interfaces.queried"), text);
    const answer = await sandbox.runAsync("exec ifquery -a -o json -i /etc/network/interfaces.queried");
    sandbox.remove();
    return answer;
  });
  if (result.status !== 0) throw new Error(`ifquery exited ${result.status}:\n${result.stderr}`);
  return result.stdout;
}
