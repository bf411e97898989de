/**
 * The judges' answers, remembered by exactly what they judged.
 *
 * A judge is a deterministic program the tests hand an artifact to (terraform validate and plan
 * against the stub providers, shellcheck, ansible-lint, cloud-init, ifupdown2's syntax check,
 * the Mermaid parser, cdktf synth): its answer depends only on what it reads and on itself. A
 * warm `npm test` replays an answer when everything that went into it is byte for byte what it
 * was: the judge's name and arguments, its input, the bytes of every input file, and the
 * identity of the tools on this machine (every Debian package, as dpkg records them, the
 * executables on PATH, Node, package-lock.json). Anything new runs the judge. The assertions
 * are the same either way; only the process start-ups are saved.
 *
 * CI (CI set) and PVE_DUALNET_JUDGE_CACHE=off always run the judges. The answers live in
 * node_modules/.cache/pve-dualnet/judged (gone with `npm ci`); unused ones go after a week.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { HOST_PATH } from "./sandbox";

/** Where the answers live (PVE_DUALNET_JUDGE_CACHE_DIR moves them, for the cache's own tests). */
const cacheDir = () => process.env.PVE_DUALNET_JUDGE_CACHE_DIR ?? path.join(__dirname, "..", "..", "node_modules", ".cache", "pve-dualnet", "judged");

/** The executables the tests use as judges (found on PATH or on a Proxmox host's root PATH). */
const JUDGES = ["terraform", "shellcheck", "ansible-playbook", "ansible-lint", "ansible-inventory", "cloud-init", "ifup", "ifquery", "python3"];

export interface Judgement {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface JudgedRun {
  /** Names the judge and how it is asked, e.g. "shellcheck --severity=warning --shell=sh -". */
  readonly judge: string;
  /** What the judge reads besides files: its standard input, the text it checks, options. */
  readonly texts?: Readonly<Record<string, string>>;
  /** Files and directories the judge reads (directories whole, recursively). */
  readonly inputs?: readonly string[];
  /**
   * A directory the judge writes its answer into: saved with it, and on a replay made what it was
   * after the run, each file with its mode (files the judge removed are removed again). List it
   * in `inputs` too when what it holds beforehand matters.
   */
  readonly outputs?: string;
}

/** Off in CI and with PVE_DUALNET_JUDGE_CACHE=off; PVE_DUALNET_JUDGE_CACHE=on turns it on even in CI. */
const judgeCacheEnabled = (env: NodeJS.ProcessEnv = process.env) => env.PVE_DUALNET_JUDGE_CACHE === "on" || (!env.CI && env.PVE_DUALNET_JUDGE_CACHE !== "off");

/** The variables of `env` whose names start with one of `prefixes`: the settings a judge reads, as a text of its key. */
export function settingsIn(env: NodeJS.ProcessEnv, ...prefixes: string[]): string {
  return JSON.stringify(Object.entries(env).filter(([name]) => prefixes.some((p) => name.startsWith(p))).sort());
}

let machine: string | undefined;
/** The identity of every tool a judge may be or load: a change to any of them is a new key. */
function machineIdentity(): string {
  if (machine) return machine;
  const hash = createHash("sha256");
  // The format of an answer: a change to it is a change to every key.
  hash.update("judged v1\n");
  const stamp = (file: string) => {
    try {
      const s = statSync(file);
      hash.update(`${file} ${realpathSync(file)} ${s.size} ${s.mtimeMs}\n`);
    } catch {
      hash.update(`${file} absent\n`);
    }
  };
  stamp("/var/lib/dpkg/status");
  const dirs = [...new Set([...(process.env.PATH ?? "").split(":"), ...HOST_PATH.split(":")])].filter(Boolean);
  for (const judge of JUDGES) for (const dir of dirs) stamp(path.join(dir, judge));
  hash.update(`node ${process.version}\n`);
  hash.update(readFileSync(path.join(__dirname, "..", "..", "package-lock.json")));
  return (machine = hash.digest("hex"));
}

/** Every file below `top` (or `top` itself), as relative path -> bytes, in a stable order. */
function filesOf(top: string): [string, Buffer][] {
  if (!existsSync(top)) return [];
  if (!statSync(top).isDirectory()) return [["", readFileSync(top)]];
  const out: [string, Buffer][] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      // Dot directories are the tools' own state (Ansible's ~/.ansible, Terraform's .terraform).
      if (entry.isDirectory() && entry.name.startsWith(".")) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push([path.relative(top, full), readFileSync(full)]);
    }
  };
  walk(top);
  return out;
}

function keyOf(run: JudgedRun): string {
  const hash = createHash("sha256");
  const field = (name: string, value: string | Buffer) => hash.update(`${name} ${Buffer.byteLength(value)}\n`).update(value);
  field("machine", machineIdentity());
  field("judge", run.judge);
  for (const [name, text] of Object.entries(run.texts ?? {}).sort(([a], [b]) => a.localeCompare(b))) field(`text ${name}`, text);
  if (run.inputs?.length) field("inputs", digestOf(run.inputs));
  return hash.digest("hex");
}

/**
 * The bytes and names of every file below `inputs`, as one digest: a key's inputs, or a text of a
 * key when many runs read the same large tree (the project's sources), read once, not once per run.
 */
export function digestOf(inputs: readonly string[]): string {
  const hash = createHash("sha256");
  for (const [i, input] of inputs.entries()) {
    for (const [file, bytes] of filesOf(input)) hash.update(`input ${i} ${file} ${bytes.length}\n`).update(bytes);
  }
  return hash.digest("hex");
}

interface Entry extends Judgement {
  readonly outputs?: Record<string, string>;
  /** Each output file's permission bits (answers remembered before they were kept have none). */
  readonly modes?: Record<string, number>;
}

/**
 * The judge's answer to `run`: replayed when the cache holds one for exactly these inputs,
 * otherwise `ask()`ed (the real judge) and remembered.
 */
export async function judged(run: JudgedRun, ask: () => Promise<Judgement>): Promise<Judgement> {
  if (!judgeCacheEnabled()) return ask();
  const file = entryFile(run);
  return replay(run, file) ?? remember(run, file, await ask());
}

/** As judged, for a decision a test file makes while its tests are collected. */
export function judgedSync(run: JudgedRun, ask: () => Judgement): Judgement {
  if (!judgeCacheEnabled()) return ask();
  const file = entryFile(run);
  return replay(run, file) ?? remember(run, file, ask());
}

function entryFile(run: JudgedRun): string {
  pruned ??= pruneJudgements();
  return path.join(cacheDir(), `${keyOf(run)}.json`);
}

function replay(run: JudgedRun, file: string): Judgement | undefined {
  if (existsSync(file)) {
    const entry: Entry = JSON.parse(readFileSync(file, "utf8"));
    if (run.outputs) {
      for (const [name] of filesOf(run.outputs)) if (!(name in (entry.outputs ?? {}))) rmSync(path.join(run.outputs, name));
    }
    for (const [name, base64] of Object.entries(entry.outputs ?? {})) {
      const target = path.join(run.outputs!, name);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, Buffer.from(base64, "base64"));
      const mode = entry.modes?.[name];
      if (mode !== undefined) chmodSync(target, mode);
    }
    const now = new Date();
    utimesSync(file, now, now);
    return { status: entry.status, stdout: entry.stdout, stderr: entry.stderr };
  }
  return undefined;
}

function remember(run: JudgedRun, file: string, answer: Judgement): Judgement {
  // A judge killed, or not found, gave no answer about the artifact: never remember that.
  if (answer.status === null || answer.status >= 126) return answer;
  const entry: Entry = {
    status: answer.status,
    stdout: answer.stdout,
    stderr: answer.stderr,
    ...(run.outputs ? outputsOf(run.outputs) : {}),
  };
  mkdirSync(path.dirname(file), { recursive: true });
  // Another test process may be writing the same answer: each writes its own file, then renames.
  const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(partial, JSON.stringify(entry));
  renameSync(partial, file);
  return answer;
}

/** What a judge left in its output directory: each file's bytes and permission bits. */
function outputsOf(dir: string): Pick<Entry, "outputs" | "modes"> {
  const files = filesOf(dir);
  return {
    outputs: Object.fromEntries(files.map(([name, bytes]) => [name, bytes.toString("base64")])),
    modes: Object.fromEntries(files.map(([name]) => [name, statSync(path.join(dir, name)).mode & 0o7777])),
  };
}

let pruned: true | undefined;
/** Removes answers not used for a week (once per test process). */
function pruneJudgements(maxAgeDays = 7): true {
  const dir = cacheDir();
  if (!existsSync(dir)) return true;
  const oldest = Date.now() - maxAgeDays * 86_400_000;
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if ((statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) < oldest) rmSync(file, { force: true });
  }
  return true;
}
