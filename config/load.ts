/**
 * Reading a cluster description: file -> YAML/JSON -> schema -> cross-field checks -> plan.
 * Any problem at any stage ends in one ConfigError listing every problem of that stage.
 */
import * as path from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { ConfigError, formatPath, type ConfigIssue } from "./errors";
import { readBoundedFile } from "./files";
import { planCluster, type ClusterPlan } from "./plan";
import { resolveCluster } from "./resolve";
import { clusterSchema, FIX, type ClusterConfig } from "./schema";
import { REDACTED, secretIn } from "./secrets";
import { resolveSshKeys } from "./ssh-keys";
import { cdktfTokenMarker, describeCharacter, unprintableCharacter } from "./text";
import { validateCluster } from "./validate";

/** Environment variable naming the cluster description file. */
export const CONFIG_ENV = "PVE_DUALNET_CONFIG";
/** cdktf context key naming the cluster description file (`"context": { "config": ... }` in cdktf.json). */
export const CONFIG_CONTEXT = "config";
/** The built-in example: the seeds' topology. */
export const EXAMPLE_CONFIG = path.join(__dirname, "..", "examples", "cluster.yaml");
/** The built-in example with IPv6 beside IPv4 (dual-stack). */
export const DUAL_STACK_EXAMPLE = path.join(__dirname, "..", "examples", "dual-stack.yaml");

/**
 * Terraform Cloud settings from the environment, over the file's: CI systems switch backends
 * without editing the description. The token is never read here (Terraform reads TF_TOKEN_*).
 */
export const TFC_ENV = {
  organization: "PVE_DUALNET_TFC_ORGANIZATION",
  hostname: "PVE_DUALNET_TFC_HOSTNAME",
  project: "PVE_DUALNET_TFC_PROJECT",
  workspacePrefix: "PVE_DUALNET_TFC_WORKSPACE_PREFIX",
  workspaceTags: "PVE_DUALNET_TFC_WORKSPACE_TAGS",
} as const;

export function withEnvironment(input: unknown, env: NodeJS.ProcessEnv): unknown {
  const organization = env[TFC_ENV.organization];
  if (!organization || typeof input !== "object" || input === null) return input;
  const current = ((input as Record<string, unknown>).terraformCloud ?? {}) as Record<string, unknown>;
  // Not a mapping: left as it is, for the schema to say so (spread, a string would become keys "0", "1", ...).
  if (typeof current !== "object" || current === null || Array.isArray(current)) return input;
  const tags = env[TFC_ENV.workspaceTags]?.split(",").map((t) => t.trim()).filter(Boolean);
  const prefix = env[TFC_ENV.workspacePrefix];
  return {
    ...input,
    terraformCloud: {
      ...current,
      organization,
      ...(env[TFC_ENV.hostname] ? { hostname: env[TFC_ENV.hostname] } : {}),
      ...(env[TFC_ENV.project] ? { project: env[TFC_ENV.project] } : {}),
      ...(tags?.length ? { workspaces: { tags } } : prefix ? { workspaces: { prefix } } : {}),
    },
  };
}

/** Where the description to use comes from. */
export interface ConfigSource {
  readonly file: string;
  /** How it was chosen: $PVE_DUALNET_CONFIG, the cdktf.json context key `config`, or the built-in example. */
  readonly from: "environment" | "context" | "example";
}

/** The description file to use: $PVE_DUALNET_CONFIG, the cdktf context key `config`, or the built-in example. */
export function resolveConfigFile(env: NodeJS.ProcessEnv): ConfigSource {
  let context: Record<string, unknown> = {};
  try {
    context = JSON.parse(env.CDKTF_CONTEXT_JSON || "{}") as Record<string, unknown>;
  } catch {
    // cdktf writes this variable itself; anything else in it names no description.
  }
  const fromContext = context[CONFIG_CONTEXT];
  if (env[CONFIG_ENV]) return { file: env[CONFIG_ENV]!, from: "environment" };
  if (typeof fromContext === "string" && fromContext) return { file: fromContext, from: "context" };
  return { file: EXAMPLE_CONFIG, from: "example" };
}

/** What the app says before it synthesizes the built-in example: it is nobody's cluster. */
export const EXAMPLE_WARNING =
  "no cluster description given: synthesizing the BUILT-IN EXAMPLE (examples/cluster.yaml: Proxmox at 192.168.0.2, VMs 111-114). Deploying it changes a host at that address. Set PVE_DUALNET_CONFIG=my-cluster.yaml (or \"context\": { \"config\": \"my-cluster.yaml\" } in cdktf.json).";

/** How deep a description may nest: the schema's deepest field is 6 levels down. */
const MAX_DEPTH = 32;
/** The largest description read: 10,000 VMs take about 1.5 MiB. */
export const MAX_DESCRIPTION_BYTES = 16 << 20;

/** Reads and validates a cluster description file; throws ConfigError. */
export function loadClusterFile(file: string, env: NodeJS.ProcessEnv = {}): ClusterPlan {
  const read = readBoundedFile(file, MAX_DESCRIPTION_BYTES);
  if ("problem" in read) {
    throw new ConfigError(file, [{ path: "", message: `cannot read the file: ${read.problem}`, fix: "give the path of a YAML or JSON cluster description, e.g. examples/cluster.yaml" }]);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(read.bytes);
    if (text.includes("\u0000")) throw new Error("NUL");
  } catch {
    throw new ConfigError(file, [{ path: "", message: "is not a text file", fix: "give a cluster description in YAML or JSON (UTF-8 text), e.g. a copy of examples/cluster.yaml" }]);
  }
  return parseCluster(text, file, env, path.dirname(file));
}

/** Parses YAML (a superset of JSON) text into a validated plan; throws ConfigError. */
export function parseCluster(text: string, source = "<inline>", env: NodeJS.ProcessEnv = {}, baseDir = process.cwd()): ClusterPlan {
  const syntaxFix = /\.json$/i.test(source) ? "fix the JSON syntax" : "fix the YAML syntax (indentation, quotes, duplicate keys)";
  const tooDeep = (where = ""): ConfigIssue => ({ path: where, message: `nests deeper than ${MAX_DEPTH} levels, far more than any cluster description`, fix: "check the file: it is not a cluster description" });
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) =>
        /call stack/i.test(e.message)
          ? tooDeep(e.linePos ? `line ${e.linePos[0].line}` : "")
          : { path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "", message: e.message.split("\n")[0]!, fix: syntaxFix },
      ),
    );
  }
  let input: unknown;
  try {
    input = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    if (err instanceof RangeError) throw new ConfigError(source, [tooDeep()]);
    if (err instanceof ReferenceError && /^Unresolved alias/.test(err.message)) {
      const name = err.message.slice(err.message.lastIndexOf(": ") + 2);
      throw new ConfigError(source, [{ path: "", message: `uses the YAML alias *${name}, but no anchor &${name} comes before it`, fix: `define &${name} before *${name}, or write the value out` }]);
    }
    if (err instanceof ReferenceError) {
      throw new ConfigError(source, [{ path: "", message: "expands YAML aliases (*name) too many times: a resource-exhaustion pattern", fix: "write the values out, or use far fewer aliases" }]);
    }
    throw err;
  }
  if (input === null || input === undefined) {
    throw new ConfigError(source, [{ path: "", message: "is empty", fix: "start from a copy of examples/cluster.yaml" }]);
  }
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new ConfigError(source, [{ path: "", message: `holds ${describe(input)}, not a mapping of settings`, fix: "start from a copy of examples/cluster.yaml (name:, proxmox:, networks:, vms: ...)" }]);
  }
  if (depthOf(input) > MAX_DEPTH) throw new ConfigError(source, [tooDeep()]);
  return checkCluster(withEnvironment(input, env), source, { env, baseDir });
}

/** How deep a parsed value nests (iteratively: a hostile file must not overflow the stack). */
function depthOf(value: unknown): number {
  let max = 0;
  // The mappings and lists still to look into, and their depths (the scalars in them count at theirs).
  const stack: object[] = value && typeof value === "object" ? [value] : [];
  const depths: number[] = [0];
  while (stack.length) {
    const children = Object.values(stack.pop()!);
    const depth = depths.pop()! + 1;
    if (children.length === 0) continue;
    max = Math.max(max, depth);
    if (depth > MAX_DEPTH) break;
    for (const child of children) {
      if (child && typeof child === "object") {
        stack.push(child);
        depths.push(depth);
      }
    }
  }
  return max;
}

/** Validates an already-parsed description into a plan; throws ConfigError. */
export function checkCluster(input: unknown, source = "<inline>", options: { env?: NodeJS.ProcessEnv; baseDir?: string } = {}): ClusterPlan {
  // Every string first: secrets and text that is not data are reported, and replaced so that no
  // later message can repeat them.
  const screened = screenStrings(input ?? {});
  // A refused value is reported once: not again by the checks that then see REDACTED in its place.
  const { refused } = screened;
  const issues: ConfigIssue[] = [...screened.issues];
  const add = (found: readonly ConfigIssue[]) => issues.push(...found.filter((i) => !refused.some((p) => i.path === p || i.path.startsWith(`${p}.`) || i.path.startsWith(`${p}[`))));
  // jitless: zod 4 compiles a parser for each object schema with `new Function` at its first
  // parse, which V8's code cache of the app (bin/bundle.mjs) cannot keep, so every start paid
  // for it (a tenth of a 4-VM app's CPU); zod's own parsers without it take no longer on a
  // thousand VMs, and find the same issues.
  const parsed = clusterSchema.safeParse(screened.input, { reportInput: true, jitless: true });
  if (!parsed.success) {
    add(parsed.error.issues.flatMap(toConfigIssues));
    // Typos alone do not hide the rest: without the unknown keys the description may parse,
    // and then its cross-field problems are reported in the same run.
    if (parsed.error.issues.every((i) => i.code === "unrecognized_keys")) {
      const retry = clusterSchema.safeParse(withoutUnknownKeys(screened.input, parsed.error.issues), { jitless: true });
      if (retry.success) add(validateCluster(retry.data));
    }
    throw new ConfigError(source, issues);
  }
  const config: ClusterConfig = parsed.data;
  // Resolved once: validation checks the values the plan is built from.
  const resolved = resolveCluster(config);
  add(validateCluster(config, resolved));
  const sshKeys = resolveSshKeys(config, options.env ?? {}, options.baseDir ?? process.cwd());
  add(sshKeys.issues);
  if (issues.length > 0) throw new ConfigError(source, issues);
  return planCluster(config, { sshKeys: sshKeys.keys }, resolved);
}

/** The longest string of any kind: a VM description (Proxmox notes) holds at most 8 KiB. */
export const MAX_VALUE_LENGTH = 8192;

/** Keys whose values are free text of several lines (a VM's notes in Proxmox). */
const MULTILINE_KEYS = new Set(["description"]);

/**
 * The rules every string of the description obeys, whatever field it is (config/text.ts,
 * config/secrets.ts): no credential, no unprintable character, nothing cdktf reads as a token.
 * Keys are screened as values are (an unknown key is echoed in its message). A string that breaks
 * a rule is replaced by REDACTED: reported once, here, never echoed.
 */
function screenStrings(input: unknown): { issues: ConfigIssue[]; refused: string[]; input: unknown } {
  const issues: ConfigIssue[] = [];
  /** Where REDACTED now stands. */
  const refused: string[] = [];
  const problem = (value: string, key: string | number | undefined): Omit<ConfigIssue, "path"> | undefined => {
    // First, so that no pattern below ever scans more than this.
    if (value.length > MAX_VALUE_LENGTH) return { message: `is ${value.length} characters long, more than any value takes (${MAX_VALUE_LENGTH})`, fix: "shorten it" };
    const secret = secretIn(value, key);
    if (secret) {
      return { message: `looks like ${secret.what}: credentials never go in the cluster description (it is committed, reviewed, and copied into cdktf.out)`, fix: `remove it; use ${secret.instead}` };
    }
    const char = unprintableCharacter(value, { multiline: typeof key === "string" && MULTILINE_KEYS.has(key) });
    if (char) {
      return { message: `holds ${describeCharacter(char)}: values are printable text`, fix: "remove the character (a value is one line of text; only a description may span lines)" };
    }
    const marker = cdktfTokenMarker(value);
    if (marker) return { message: `holds '${marker}', which cdktf reads as one of its own token markers`, fix: "remove it: the value would be replaced by another value of the stack" };
    return undefined;
  };
  // A key's problem depends on the key alone, and the same few keys repeat at every VM: each is screened once.
  const keyProblems = new Map<string, Omit<ConfigIssue, "path"> | undefined>();
  const keyProblem = (key: string) => {
    if (!keyProblems.has(key)) keyProblems.set(key, problem(key, undefined));
    return keyProblems.get(key);
  };
  // Where the walk is: one list, grown and shrunk as it goes (formatted only for a problem).
  const at: (string | number)[] = [];
  // What has no problem is returned as it is, the same object; a mapping or list is copied only
  // where something below it was replaced (and a mapping that is not a plain object always, into
  // one, as Object.fromEntries made every mapping before).
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      let changed = false;
      const out = value.map((v, i) => {
        at.push(i);
        const screened = walk(v);
        at.pop();
        if (screened !== v) changed = true;
        return screened;
      });
      return changed ? out : value;
    }
    if (value && typeof value === "object") {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      // A plain object (of any realm: its prototype is an Object.prototype) is kept as it is.
      const proto: unknown = Object.getPrototypeOf(value);
      let out: Record<string, unknown> | undefined = proto !== null && Object.getPrototypeOf(proto) === null ? undefined : {};
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        const v = record[k];
        const found = keyProblem(k);
        if (found) {
          issues.push({ path: formatPath(at), ...found, message: `a key ${found.message}` });
          refused.push(formatPath([...at, REDACTED]));
        }
        const key = found ? REDACTED : k;
        at.push(key);
        const screened = walk(v);
        at.pop();
        if (!out && (found || screened !== v)) {
          out = {};
          for (let j = 0; j < i; j++) Object.defineProperty(out, keys[j]!, { value: record[keys[j]!], enumerable: true, writable: true, configurable: true });
        }
        // As Object.fromEntries writes a property ("__proto__" too: a key of its own).
        if (out) Object.defineProperty(out, key, { value: screened, enumerable: true, writable: true, configurable: true });
      }
      return out ?? value;
    }
    if (typeof value !== "string") return value;
    const found = problem(value, at[at.length - 1]);
    if (!found) return value;
    issues.push({ path: formatPath(at), ...found });
    refused.push(formatPath(at));
    return REDACTED;
  };
  return { issues, refused, input: walk(input) };
}

// ---------------------------------------------------------------------------
// Schema issues in the user's terms
// ---------------------------------------------------------------------------

/** Keys that moved: a description written for an earlier pve-dualnet gets told where. */
const MOVED: Record<string, string> = {
  controlPlaneEndpoint: "replaced by kubernetes.apiServer: set vip (and port) there; the endpoint is derived from them",
  firewall: "moved to the top-level firewall section: firewall.enabled turns the Proxmox firewall on or off for every VM",
};

/** Every key the schema knows, for "did you mean" on typos. */
const KNOWN_KEYS = collectKeys(clusterSchema);

function toConfigIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  const where = formatPath(issue.path);
  // Messages written in the schema carry their own fix (see FIX in schema.ts).
  const [message, ownFix] = issue.message.split(FIX);
  const field = where.split(".").pop()!.replace(/\[\d+\]$/, "");
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const at = where ? `${where}.${key}` : key;
        if (Object.hasOwn(MOVED, key) && where) return { path: at, message: `unknown key "${key}"`, fix: MOVED[key]! };
        const suggestion = closest(key, KNOWN_KEYS);
        return { path: at, message: `unknown key "${key}"`, fix: suggestion ? `did you mean "${suggestion}"?` : "remove it (see docs/config-reference.md for the keys there are)" };
      });
    case "invalid_union":
      if ("discriminator" in issue && issue.discriminator) {
        return [{ path: `${where}.${issue.discriminator}`, message: `unknown ${issue.discriminator}`, fix: "use one of: nic, bond, vlan, bridge" }];
      }
      return [{ path: where, message: "matches none of the accepted forms", fix: `see ${field} in docs/config-reference.md for the forms it takes` }];
    case "invalid_type":
      if (issue.input === undefined) return [{ path: where, message: "is required", fix: `add ${field} (see docs/config-reference.md)` }];
      if (ownFix) return [{ path: where, message: message!, fix: ownFix }];
      return [{ path: where, message: `must be ${article(issue.expected)}, not ${describe(issue.input)}`, fix: `write ${article(issue.expected)}` }];
    case "too_small":
    case "too_big": {
      if (ownFix) return [{ path: where, message: message!, fix: ownFix }];
      const bound = Number(issue.code === "too_small" ? issue.minimum : issue.maximum);
      const small = issue.code === "too_small";
      if (issue.origin === "array") {
        return [{ path: where, message: small ? `needs at least ${bound} ${bound === 1 ? "entry" : "entries"}` : `has more than ${bound} entries`, fix: small ? `add ${bound === 1 ? "at least one entry" : `at least ${bound} entries`} to ${field}` : `keep at most ${bound}` }];
      }
      if (issue.origin === "string") return [{ path: where, message: small ? "must not be empty" : `is longer than ${bound} characters`, fix: small ? `write the ${field}` : `shorten it to ${bound} characters` }];
      return [{ path: where, message: `must be ${small ? "at least" : "at most"} ${bound}`, fix: `use a value ${small ? "of" : "up to"} ${bound}${small ? " or more" : ""}` }];
    }
    case "invalid_value":
      return [{ path: where, message: `is not one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`, fix: `use one of: ${issue.values.join(", ")}` }];
    default:
      return [{ path: where, message: message!, fix: ownFix ?? `see ${field} in docs/config-reference.md` }];
  }
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

/** A deep copy of `input` without the keys the schema did not recognize. */
function withoutUnknownKeys(input: unknown, issues: readonly z.core.$ZodIssue[]): unknown {
  const copy = structuredClone(input) as Record<PropertyKey, unknown>;
  for (const issue of issues) {
    if (issue.code !== "unrecognized_keys") continue;
    const target = issue.path.reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown>)?.[key], copy) as Record<string, unknown>;
    for (const key of issue.keys) delete target[key];
  }
  return copy;
}

/** A value in a message: its type, and short scalars as written (secrets were redacted before). */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  const shown = JSON.stringify(value);
  return `${article(typeof value)} (${shown.length > 40 ? `${shown.slice(0, 37)}..."` : shown})`;
}

function collectKeys(schema: unknown, keys = new Set<string>(), seen = new Set<unknown>()): Set<string> {
  if (!schema || typeof schema !== "object" || seen.has(schema)) return keys;
  seen.add(schema);
  const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  if (!def) return keys;
  const shape = def.shape as Record<string, unknown> | undefined;
  if (shape) {
    for (const [key, child] of Object.entries(shape)) {
      keys.add(key);
      collectKeys(child, keys, seen);
    }
  }
  for (const field of ["innerType", "element", "in", "out"]) collectKeys(def[field], keys, seen);
  for (const field of ["options", "items"]) {
    const list = def[field];
    if (Array.isArray(list)) list.forEach((child) => collectKeys(child, keys, seen));
  }
  return keys;
}

/** The known key nearest to a typo: a small edit distance, or one contained in the other ("bridgePorts" -> "ports"). */
function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  let contained: string | undefined;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    const d = editDistance(lower, c);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
    if (c.length >= 3 && (lower.includes(c) || c.includes(lower)) && (!contained || c.length > contained.length)) contained = candidate;
  }
  return best ?? contained;
}

/** Edits between two words, a swap of neighbours counting as one ("mut" is one from "mtu"). */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, before[j - 2]! + 1);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length]!;
}
