/**
 * The change impact: what turning one synthesized cluster into another does to each resource,
 * said as a pull-request reviewer reads it ("replaces master-2: vm_id 112 → 122 forces a new VM",
 * "resizes app-worker in place: memory.dedicated 8192 → 16384", "adds worker-3").
 *
 * Pure: two sets of synthesized stacks (stack name → its Terraform JSON) and the providers' facts
 * (schemas/replacement-facts.yaml: which attributes force a replacement, read from each provider's
 * source) in, the impact and its text, Markdown or JSON out. A resource is the same resource on
 * both sides when its stack, type and logical id are the same (the id is its construct path, named
 * after the VM or host, never its position in a list).
 */
import { createHash } from "node:crypto";
import { parse } from "yaml";
import { z } from "zod";
import { visible } from "../config/errors";
import { markdownText } from "./report";

export type ImpactFormat = "text" | "markdown" | "json";

// ---------------------------------------------------------------------------------------------
// The facts (schemas/replacement-facts.yaml)
// ---------------------------------------------------------------------------------------------

const attributePath = z.string().regex(/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/, "an attribute path such as clone.vm_id");
const where = z.string().min(1);
const forceNew = z.strictObject({
  path: attributePath,
  at: where,
  unlessTrue: attributePath.optional(),
  bothSet: z.literal(true).optional(),
  immutableTrue: z.literal(true).optional(),
});
const nicEffect = z.strictObject({ fields: z.array(z.string()).min(1), says: z.string() });
const typeFacts = z.strictObject({
  provider: z.string(),
  noun: z.string(),
  replacement: z.enum(["recreate", "rewrite", "rerun"]),
  forceNew: z.array(forceNew),
  restart: z
    .strictObject({
      rebootAfterUpdate: attributePath,
      defaultHotplug: z.string(),
      defaultHotplugAt: where,
      paths: z.array(
        z.strictObject({ path: attributePath, at: where, hotplug: z.string().optional(), hotpluggable: z.union([z.literal("increase"), z.array(attributePath)]).optional() }),
      ),
    })
    .optional(),
  refuse: z.array(z.strictObject({ path: attributePath, when: z.enum(["decrease", "change"]), says: z.string(), at: where })).optional(),
  nic: z
    .strictObject({ list: attributePath, device: z.string(), at: where, replug: nicEffect, retap: nicEffect, live: nicEffect })
    .optional(),
  issues: z.array(z.strictObject({ id: z.number().int(), url: z.url(), when: z.enum(["nic-list", "ip-config-order"]), says: z.string() })).optional(),
  notes: z.array(z.strictObject({ path: attributePath, says: z.string(), at: where })).optional(),
  provisioners: z.strictObject({ says: z.string(), at: where }).optional(),
});
const replacementFacts = z.strictObject({
  provenance: z.record(z.string(), z.strictObject({ version: z.string(), tag: z.string().optional(), commit: z.string().optional() })),
  resources: z.record(z.string(), typeFacts),
});

export type ReplacementFacts = z.infer<typeof replacementFacts>;
export type TypeFacts = z.infer<typeof typeFacts>;

/** Parses schemas/replacement-facts.yaml; a file that breaks its form is a fault of pve-dualnet (throws). */
export function parseReplacementFacts(text: string): ReplacementFacts {
  const result = replacementFacts.safeParse(parse(text));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`schemas/replacement-facts.yaml: ${issue.path.join(".")}: ${issue.message}`);
  }
  for (const [type, facts] of Object.entries(result.data.resources)) {
    if (!(facts.provider in result.data.provenance)) throw new Error(`schemas/replacement-facts.yaml: resources.${type}.provider: ${facts.provider} has no provenance`);
  }
  return result.data;
}

// ---------------------------------------------------------------------------------------------
// The impact
// ---------------------------------------------------------------------------------------------

/** Stack name → its synthesized Terraform JSON (cdk.tf.json, parsed). */
export type SynthesizedStacks = Readonly<Record<string, unknown>>;

/** What Terraform plans for a resource; `none` is listed only when something was left unapplied. */
export type ImpactAction = "create" | "delete" | "replace" | "update" | "none";
/** What the action means for the resource: recreate/rewrite/rerun are kinds of replacement. */
export type ImpactEffect = "create" | "delete" | "recreate" | "rewrite" | "rerun" | "in-place" | "none";

export interface AttributeChange {
  /** Terraform's path: `network_device[1].mtu`, `triggers_replace["network.env"]`. */
  readonly path: string;
  /** Absent is undefined (shown as "(none)"). */
  readonly old: unknown;
  readonly new: unknown;
  /** This change forces the replacement; `at` says where the provider's source says so. */
  readonly forcesReplacement: boolean;
  /** lifecycle.ignore_changes covers it: Terraform plans nothing for it. */
  readonly ignored: boolean;
  readonly at?: string;
}

export interface ResourceImpact {
  readonly stack: string;
  readonly type: string;
  /** The logical id (the Terraform resource name). */
  readonly id: string;
  /** `<type>.<id>`: what `terraform apply -replace=` takes. */
  readonly address: string;
  /** The resource in words: "master-2", "the firewall rules of master-2", "generated/ansible/inventory.ini". */
  readonly subject: string;
  /** The VM it belongs to, by name (the VM itself, its firewall, its snippet). */
  readonly owner?: string;
  /** What it is of its owner ("firewall rules"); unset for the VM itself. */
  readonly part?: string;
  readonly action: ImpactAction;
  readonly effect: ImpactEffect;
  /** One line for a reviewer: "replaces master-2: vm_id 112 → 122 forces a new VM". */
  readonly summary: string;
  readonly changes: readonly AttributeChange[];
  /** What else happens: restarts, what Proxmox does to a NIC, provider behaviour. */
  readonly notes: readonly string[];
  /** What can go wrong: documented destructive provider behaviour, changes the provider refuses. */
  readonly warnings: readonly string[];
}

export interface Impact {
  readonly old: string;
  readonly new: string;
  /** Every resource with something to say, grouped by stack in build order. */
  readonly resources: readonly ResourceImpact[];
  /** Resources present on both sides with nothing to say. */
  readonly unchanged: number;
}

/** Keys of a resource that are Terraform's meta-arguments, not the provider's attributes. */
const META = new Set(["//", "depends_on", "lifecycle", "provider", "count", "for_each", "provisioner", "connection"]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);
/** A value whose parts are compared one by one: an object, or a list holding objects (a block list). */
const isContainer = (v: unknown): v is JsonObject | Json[] => isObject(v) || (Array.isArray(v) && v.some(isObject));
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The resources of a stack: `<type>` → `<logical id>` → configuration. */
function resourcesOf(stack: unknown): Map<string, JsonObject> {
  const found = new Map<string, JsonObject>();
  const resource = isObject(stack) ? stack.resource : undefined;
  if (!isObject(resource)) return found;
  for (const [type, byId] of Object.entries(resource)) {
    if (!isObject(byId)) continue;
    for (const [id, config] of Object.entries(byId)) if (isObject(config)) found.set(`${type}.${id}`, config);
  }
  return found;
}

/** A key in a Terraform path: `name`, or `["a.b"]` for keys that are not identifiers. */
const pathKey = (prefix: string, key: string) => (/^[A-Za-z_][\w-]*$/.test(key) ? (prefix ? `${prefix}.${key}` : key) : `${prefix}[${JSON.stringify(key)}]`);

interface RawChange {
  readonly path: string;
  /** The path without list indexes, as the facts name attributes: `network_device.mtu`. */
  readonly norm: string;
  readonly old: unknown;
  readonly new: unknown;
}

/** The differences between two values, as deep as both sides are containers of the same kind. */
function diff(a: unknown, b: unknown, path: string, norm: string, out: RawChange[]): void {
  if (same(a, b)) return;
  if (isObject(a) && isObject(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (!path && META.has(key)) continue;
      diff(a[key], b[key], pathKey(path, key), norm ? `${norm}.${key}` : key, out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && (isContainer(a) || isContainer(b))) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) diff(a[i], b[i], `${path}[${i}]`, norm, out);
    return;
  }
  out.push({ path, norm, old: a ?? undefined, new: b ?? undefined });
}

/** The value at a dotted path below a value (lists: any element). */
function valuesAt(value: unknown, rest: string): unknown[] {
  if (!rest) return [value];
  if (Array.isArray(value)) return value.flatMap((v) => valuesAt(v, rest));
  if (!isObject(value)) return [];
  const [head, ...tail] = rest.split(".");
  return valuesAt(value[head!], tail.join("."));
}
const present = (v: unknown) => v !== undefined && v !== null;

/**
 * Whether a change at `change.norm` touches attribute `fact`: the same attribute, one inside it,
 * or a block holding it (set on either side).
 */
function touches(change: RawChange, fact: string): boolean {
  if (change.norm === fact || change.norm.startsWith(`${fact}.`)) return true;
  if (!fact.startsWith(`${change.norm}.`)) return false;
  const rest = fact.slice(change.norm.length + 1);
  return [...valuesAt(change.old, rest), ...valuesAt(change.new, rest)].some(present);
}

const ignoredBy = (lifecycle: unknown) => {
  const ignore = isObject(lifecycle) ? lifecycle.ignore_changes : undefined;
  if (ignore === "all") return () => true;
  const paths = Array.isArray(ignore) ? ignore.filter((p): p is string => typeof p === "string").map((p) => p.replace(/\[\d+\]/g, "")) : [];
  return (change: RawChange) => paths.some((p) => change.norm === p || change.norm.startsWith(`${p}.`));
};

// ---------------------------------------------------------------------------------------------
// Values and subjects in words
// ---------------------------------------------------------------------------------------------

/** Controls, invisible and bidirectional format characters are shown, never sent raw (config/errors.ts). */
const safe = visible;
const sha = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);

/** A value in a few words: short values as written, long texts by size and hash. */
export function showValue(value: unknown): string {
  if (value === undefined || value === null) return "(none)";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "string") {
    if (value.includes("\n")) return `(${value.split("\n").length} lines, sha256 ${sha(value)}…)`;
    if (/^[0-9a-f]{40,}$/.test(value)) return `${value.slice(0, 12)}…`;
    if (value.length > 100) return `(${value.length} characters, sha256 ${sha(value)}…)`;
    return value && /^[\w.:/@+,=${}-]+$/.test(value) ? value : safe(JSON.stringify(value));
  }
  const json = JSON.stringify(value);
  if (json.length <= 100) return safe(json);
  return Array.isArray(value) ? `(${value.length} items, sha256 ${sha(json)}…)` : `(${Object.keys(value as object).length} keys, sha256 ${sha(json)}…)`;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);
const metadataPath = (config: JsonObject) => {
  const meta = config["//"];
  const p = isObject(meta) && isObject(meta.metadata) ? meta.metadata.path : undefined;
  return typeof p === "string" ? p.split("/") : [];
};

/** The name of the VM with this vm_id in a stack, if it has one. */
function vmNamed(resources: Map<string, JsonObject>, vmId: unknown): string {
  for (const [address, config] of resources) {
    if (address.startsWith("proxmox_virtual_environment_vm.") && config.vm_id === vmId && typeof config.name === "string") return config.name;
  }
  return `VM ${str(vmId) ?? "?"}`;
}

interface Subject {
  /** The resource in words. */
  readonly subject: string;
  /** The VM it belongs to (its firewall, its snippet), by name. */
  readonly owner?: string;
  /** What it is of its owner: "firewall rules". */
  readonly part?: string;
}

/** The VM that names this resource among what it depends on (its network-data snippet). */
function dependentVm(resources: Map<string, JsonObject>, address: string): string | undefined {
  for (const [vmAddress, config] of resources) {
    if (vmAddress.startsWith("proxmox_virtual_environment_vm.") && Array.isArray(config.depends_on) && config.depends_on.includes(address)) return str(config.name);
  }
  return undefined;
}

/** A resource in words, and the VM it belongs to. */
function subjectOf(type: string, id: string, config: JsonObject, resources: Map<string, JsonObject>, facts: TypeFacts | undefined): Subject {
  const described = describe(type, id, config, resources, facts);
  if (type === "proxmox_virtual_environment_vm") return { subject: described, owner: described };
  if (type === "proxmox_virtual_environment_firewall_options" || type === "proxmox_virtual_environment_firewall_rules") {
    return { subject: described, owner: vmNamed(resources, config.vm_id), part: type.endsWith("options") ? "firewall options" : "firewall rules" };
  }
  const owner = type === "proxmox_virtual_environment_file" ? dependentVm(resources, `${type}.${id}`) : undefined;
  return owner ? { subject: described, owner, part: described.split(" on ")[0]!.replace(/^the /, "") } : { subject: described };
}

/** A value, or the value a plain reference to another resource's attribute (`${type.id.a[0].b}`) stands for. */
function resolved(value: unknown, resources: Map<string, JsonObject>): string | undefined {
  const text = str(value);
  const reference = text && /^\$\{([\w-]+\.[\w-]+)\.([\w.[\]]+)\}$/.exec(text);
  if (!reference) return text;
  const target = resources.get(reference[1]!);
  const found = target && valuesAt(target, reference[2]!.replace(/\[\d+\]/g, "")).find(present);
  return str(found) ?? text;
}

function describe(type: string, id: string, config: JsonObject, resources: Map<string, JsonObject>, facts: TypeFacts | undefined): string {
  const metadata = isObject(config.metadata) ? config.metadata : isObject(config.manifest) && isObject(config.manifest.metadata) ? config.manifest.metadata : undefined;
  const [name, namespace] = [resolved(metadata?.name, resources), resolved(metadata?.namespace, resources)];
  const named = name ? `${namespace ? `${namespace}/` : ""}${name}` : undefined;
  switch (type) {
    case "proxmox_virtual_environment_vm":
      return str(config.name) ?? `VM ${str(config.vm_id) ?? id}`;
    case "proxmox_virtual_environment_firewall_options":
      return `the firewall options of ${vmNamed(resources, config.vm_id)}`;
    case "proxmox_virtual_environment_firewall_rules":
      return `the firewall rules of ${vmNamed(resources, config.vm_id)}`;
    case "proxmox_virtual_environment_cluster_firewall_security_group":
      return `security group ${str(config.name) ?? id}`;
    case "proxmox_download_file":
      return `the image ${str(config.file_name) ?? str(config.url) ?? id} on ${str(config.node_name) ?? "?"}`;
    case "proxmox_virtual_environment_file": {
      const raw = isObject(config.source_raw) ? str(config.source_raw.file_name) : undefined;
      return `the ${str(config.content_type) === "snippets" ? "snippet" : "file"} ${raw ?? id} on ${str(config.node_name) ?? "?"}`;
    }
    case "local_file":
      return (str(config.filename) ?? id).replace(/^(\.\.\/)+/, "");
    case "terraform_data": {
      // host-network/host-<node>/<what>/apply
      const [, scope, what] = metadataPath(config);
      const host = scope && /^host-(.+)$/.exec(scope);
      return host && what ? `the ${what} apply on ${host[1]}` : `${type}.${id}`;
    }
    case "kubernetes_manifest":
      return `${isObject(config.manifest) ? (str(config.manifest.kind) ?? "object") : "object"} ${named ?? id}`;
    case "helm_release":
      return `Helm release ${str(config.namespace) ?? "default"}/${str(config.name) ?? id}`;
    default:
      return facts && type.startsWith("kubernetes_") && named ? `${facts.noun} ${named}` : `${type}.${id}`;
  }
}

// ---------------------------------------------------------------------------------------------
// One resource
// ---------------------------------------------------------------------------------------------

const listOf = (changes: readonly AttributeChange[]) => changes.map((c) => `${c.path} ${showValue(c.old)} → ${showValue(c.new)}`).join("; ");

/** Whether a forceNew fact applies to this change, given both configurations. */
function forcing(change: RawChange, fact: z.infer<typeof forceNew>, oldConfig: JsonObject, newConfig: JsonObject): boolean {
  if (!touches(change, fact.path)) return false;
  if (fact.unlessTrue && newConfig[fact.unlessTrue] === true) return false;
  if (fact.immutableTrue && oldConfig.immutable !== true) return false;
  if (fact.bothSet) {
    const rest = fact.path.startsWith(`${change.norm}.`) ? fact.path.slice(change.norm.length + 1) : "";
    const [o, n] = [valuesAt(change.old, rest).find(present), valuesAt(change.new, rest).find(present)];
    if (!present(o) || !present(n)) return false;
  }
  return true;
}

/** The restart note of an in-place VM change, if any change needs one. */
function restartNote(facts: TypeFacts, subject: string, changes: readonly RawChange[], newConfig: JsonObject): string | undefined {
  const restart = facts.restart;
  if (!restart) return undefined;
  const hotplug = (str(newConfig.hotplug) ?? restart.defaultHotplug).split(",");
  const needing = changes.filter((change) =>
    restart.paths.some((rule) => {
      if (!touches(change, rule.path)) return false;
      if (!rule.hotplug || !hotplug.includes(rule.hotplug)) return true;
      if (rule.hotpluggable === "increase") return !(typeof change.old === "number" && typeof change.new === "number" && change.new > change.old);
      return !rule.hotpluggable?.includes(change.norm);
    }),
  );
  if (!needing.length) return undefined;
  const paths = [...new Set(needing.map((c) => c.path))];
  const take = `${paths.join(", ")} take${paths.length === 1 ? "s" : ""} effect`;
  const reboot = newConfig[restart.rebootAfterUpdate] === true;
  return reboot
    ? `restarts ${subject}: ${take} only after a restart, and ${restart.rebootAfterUpdate} is true, so the provider restarts it`
    : `needs a restart: ${take} when ${subject} next restarts (${restart.rebootAfterUpdate} is false: the provider leaves the change pending and does not restart it)`;
}

/** What Proxmox does to each changed NIC of a running VM. */
function nicNotes(facts: TypeFacts, changes: readonly RawChange[]): string[] {
  const nic = facts.nic;
  if (!nic) return [];
  const byDevice = new Map<number, Set<string>>();
  for (const change of changes) {
    const m = new RegExp(`^${nic.list}\\[(\\d+)\\]\\.(\\w+)$`).exec(change.path);
    if (!m) continue;
    const fields = byDevice.get(Number(m[1])) ?? new Set<string>();
    fields.add(m[2]!);
    byDevice.set(Number(m[1]), fields);
  }
  return [...byDevice].flatMap(([index, fields]) => {
    const effect = [nic.replug, nic.retap, nic.live].find((e) => e.fields.some((f) => fields.has(f)));
    return effect ? [`${nic.device}${index} (${nic.list}[${index}]): ${[...fields].join(", ")} changed: ${effect.says}`] : [];
  });
}

/** Warnings from the provider's documented behaviour (issues) and changes it refuses. */
function warningsOf(facts: TypeFacts, changes: readonly RawChange[], oldConfig: JsonObject, newConfig: JsonObject): string[] {
  const warnings: string[] = [];
  for (const rule of facts.refuse ?? []) {
    for (const change of changes) {
      if (change.norm !== rule.path) continue;
      const decreased = typeof change.old === "number" && typeof change.new === "number" && change.new < change.old;
      if (rule.when === "change" || decreased) warnings.push(`${change.path} ${showValue(change.old)} → ${showValue(change.new)}: ${rule.says}`);
    }
  }
  const moved = (before: unknown[], after: unknown[]) =>
    before.length !== after.length || before.some((v, i) => present(v) && after.includes(v) && after.indexOf(v) !== i);
  for (const issue of facts.issues ?? []) {
    const nicList = facts.nic?.list ?? "network_device";
    const devices = (config: JsonObject) => (Array.isArray(config[nicList]) ? (config[nicList] as Json[]) : []);
    const macs = (config: JsonObject) => devices(config).map((d) => (isObject(d) ? (d.mac_address ?? null) : null));
    let hit = false;
    if (issue.when === "nic-list") hit = moved(macs(oldConfig), macs(newConfig));
    if (issue.when === "ip-config-order") {
      const addresses = (config: JsonObject) => {
        const init = config.initialization;
        const entries = isObject(init) && Array.isArray(init.ip_config) ? init.ip_config : [];
        return entries.map((e) => (isObject(e) && isObject(e.ipv4) ? (e.ipv4.address ?? null) : null));
      };
      hit = devices(oldConfig).length !== devices(newConfig).length || moved(addresses(oldConfig), addresses(newConfig));
    }
    if (hit) warnings.push(issue.says);
  }
  return warnings;
}

function impactOf(stack: string, address: string, oldConfig: JsonObject | undefined, newConfig: JsonObject | undefined, sides: { old: Map<string, JsonObject>; new: Map<string, JsonObject> }, facts: ReplacementFacts): ResourceImpact | undefined {
  const type = address.slice(0, address.indexOf("."));
  const id = address.slice(type.length + 1);
  const typeFacts = facts.resources[type];
  const { subject, owner, part } = subjectOf(type, id, (newConfig ?? oldConfig)!, newConfig ? sides.new : sides.old, typeFacts);
  const base = { stack, type, id, address, subject, ...(owner ? { owner } : {}), ...(part ? { part } : {}) };
  if (!oldConfig || !newConfig) {
    const action = oldConfig ? "delete" : "create";
    return { ...base, action, effect: action, summary: `${oldConfig ? "removes" : "adds"} ${subject}`, changes: [], notes: [], warnings: [] };
  }

  const raw: RawChange[] = [];
  diff(oldConfig, newConfig, "", "", raw);
  const ignored = ignoredBy(newConfig.lifecycle);
  const notes: string[] = [];
  const warnings: string[] = [];
  if (!typeFacts && raw.length) warnings.push(`pve-dualnet has no facts about ${type} (schemas/replacement-facts.yaml): whether a change replaces it is not known; read the plan`);
  const changes: AttributeChange[] = raw.map((change) => {
    const fact = ignored(change) ? undefined : typeFacts?.forceNew.find((f) => forcing(change, f, oldConfig, newConfig));
    return { path: change.path, old: change.old, new: change.new, forcesReplacement: Boolean(fact), ignored: ignored(change), ...(fact ? { at: fact.at } : {}) };
  });
  const applied = changes.filter((c) => !c.ignored);
  const appliedRaw = raw.filter((c) => !ignored(c));
  const forced = applied.filter((c) => c.forcesReplacement);

  const ignoredChanges = changes.filter((c) => c.ignored);
  if (ignoredChanges.length) {
    const wouldForce = ignoredChanges.some((c) => typeFacts?.forceNew.some((f) => forcing(raw[changes.indexOf(c)]!, f, oldConfig, newConfig)));
    notes.push(
      `ignored (lifecycle ignore_changes): ${listOf(ignoredChanges)}` +
        (wouldForce ? `; it would force a new ${typeFacts!.noun}: to rebuild ${subject} from it on purpose, terraform apply -replace='${address}' in the ${stack} stack` : ""),
    );
  }
  for (const note of typeFacts?.notes ?? []) {
    if (appliedRaw.some((c) => touches(c, note.path))) notes.push(`${note.path}: ${note.says}`);
  }
  const provisionersChanged = !same(oldConfig.provisioner, newConfig.provisioner) || !same(oldConfig.connection, newConfig.connection);

  if (forced.length) {
    const kind = typeFacts!.replacement;
    const others = applied.filter((c) => !c.forcesReplacement);
    const verb = kind === "recreate" ? `replaces ${subject}: ${listOf(forced)} force${forced.length === 1 ? "s" : ""} a new ${typeFacts!.noun}` : kind === "rewrite" ? `rewrites ${subject}: ${listOf(forced)}` : `runs ${subject} again: ${listOf(forced)}`;
    if (others.length) notes.unshift(`with: ${listOf(others)}`);
    return { ...base, action: "replace", effect: kind, summary: verb, changes, notes, warnings };
  }

  if (applied.length) {
    if (typeFacts) {
      const restart = restartNote(typeFacts, subject, appliedRaw, newConfig);
      if (restart) notes.push(restart);
      notes.push(...nicNotes(typeFacts, appliedRaw));
      warnings.push(...warningsOf(typeFacts, appliedRaw, oldConfig, newConfig));
    }
    const migrates = type === "proxmox_virtual_environment_vm" && applied.some((c) => c.path === "node_name");
    // vCPUs and memory, disk sizes, and the NIC queues that follow the vCPUs.
    const resizes = applied.every((c) => /^(cpu|memory)\.|^disk\[\d+\]\.size$|^network_device\[\d+\]\.queues$/.test(c.path));
    const verb = migrates ? `migrates ${subject} to ${showValue(newConfig.node_name)} in place` : resizes && type === "proxmox_virtual_environment_vm" ? `resizes ${subject} in place` : `changes ${subject} in place`;
    return { ...base, action: "update", effect: "in-place", summary: `${verb}: ${listOf(applied)}`, changes, notes, warnings };
  }

  if (provisionersChanged && typeFacts?.provisioners) notes.push(`its provisioners or connection changed: ${typeFacts.provisioners.says}`);
  if (!notes.length) return undefined;
  return { ...base, action: "none", effect: "none", summary: `keeps ${subject} as it is`, changes, notes, warnings };
}

/**
 * Compares two synthesized clusters resource by resource. `labels` name the sides in the output
 * (the files or directories they came from).
 */
export function planImpact(oldStacks: SynthesizedStacks, newStacks: SynthesizedStacks, facts: ReplacementFacts, labels: { old: string; new: string }): Impact {
  // Build order as synthesized (readSynthesized): the new side's, then stacks only the old side had.
  const stacks = [...new Set([...Object.keys(newStacks), ...Object.keys(oldStacks)])];
  const resources: ResourceImpact[] = [];
  let unchanged = 0;
  for (const stack of stacks) {
    const sides = { old: resourcesOf(oldStacks[stack]), new: resourcesOf(newStacks[stack]) };
    const addresses = [...new Set([...sides.old.keys(), ...sides.new.keys()])];
    const found: ResourceImpact[] = [];
    for (const address of addresses) {
      const impact = impactOf(stack, address, sides.old.get(address), sides.new.get(address), sides, facts);
      if (impact) found.push(impact);
      else unchanged++;
    }
    // Each VM's own resources right after it (by owner, the VM first), then the rest by subject.
    const key = (r: ResourceImpact) => r.owner ?? r.subject;
    found.sort((a, b) => ACTION_RANK[a.effect] - ACTION_RANK[b.effect] || compare(key(a), key(b)) || Number(Boolean(a.part)) - Number(Boolean(b.part)) || compare(a.subject, b.subject) || compare(a.address, b.address));
    resources.push(...found);
  }
  return { old: labels.old, new: labels.new, resources, unchanged };
}

/** Order in a stack's list: what destroys first, what only notes last. */
const ACTION_RANK: Record<ImpactEffect, number> = { recreate: 0, delete: 1, create: 2, "in-place": 3, rerun: 4, rewrite: 5, none: 6 };

/** Whether anything is destroyed and created again (generated files and runs not counted). */
export function replacesAnything(impact: Impact): boolean {
  return impact.resources.some((r) => r.effect === "recreate");
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

function counts(impact: Impact): string {
  const n = (effect: ImpactEffect) => impact.resources.filter((r) => r.effect === effect).length;
  const parts = [
    [n("recreate"), "to replace", "to replace"],
    [n("delete"), "to remove", "to remove"],
    [n("create"), "to add", "to add"],
    [n("in-place"), "to change in place", "to change in place"],
    [n("rerun"), "run to repeat", "runs to repeat"],
    [n("rewrite"), "generated file to rewrite", "generated files to rewrite"],
    [n("none"), "left as it is (see its note)", "left as they are (see their notes)"],
  ] as const;
  const said = parts.filter(([count]) => count > 0).map(([count, one, many]) => `${count} ${count === 1 ? one : many}`);
  return `${said.length ? said.join(", ") : "no changes"}; ${impact.unchanged} unchanged`;
}

export function renderImpact(impact: Impact, format: ImpactFormat = "text"): string {
  if (format === "json") {
    const json = {
      format: "pve-dualnet plan-impact 1",
      old: impact.old,
      new: impact.new,
      replaces: replacesAnything(impact),
      unchanged: impact.unchanged,
      resources: impact.resources.map((r) => ({
        stack: r.stack,
        address: r.address,
        type: r.type,
        subject: r.subject,
        owner: r.owner ?? null,
        action: r.action,
        effect: r.effect,
        summary: r.summary,
        // Values as the text shows them: long texts (file contents, scripts) by size and hash.
        changes: r.changes.map((c) => ({ path: c.path, old: showValue(c.old), new: showValue(c.new), forcesReplacement: c.forcesReplacement, ignored: c.ignored, at: c.at ?? null })),
        notes: r.notes,
        warnings: r.warnings,
      })),
    };
    return `${JSON.stringify(json, null, 2)}\n`;
  }
  const md = format === "markdown";
  const text = (s: string) => (md ? markdownText(safe(s)) : safe(s));
  const lines: string[] = [];
  const title = "pve-dualnet plan impact";
  lines.push(md ? `## ${title}` : title, "", `${text(impact.old)} → ${text(impact.new)}: ${text(counts(impact))}`);
  const stacks = [...new Set(impact.resources.map((r) => r.stack))];
  for (const stack of stacks) {
    lines.push("", md ? `### ${text(stack)}` : `${stack}:`);
    const inStack = impact.resources.filter((x) => x.stack === stack);
    // A VM added or removed with its own resources (firewall, snippet) is one line.
    const folded = new Set<ResourceImpact>();
    const partsOf = new Map<ResourceImpact, ResourceImpact[]>();
    for (const r of inStack) {
      if (r.part || !r.owner || (r.action !== "create" && r.action !== "delete")) continue;
      const parts = inStack.filter((x) => x.part && x.owner === r.owner && x.action === r.action);
      parts.forEach((x) => folded.add(x));
      partsOf.set(r, parts);
    }
    for (const r of inStack.filter((x) => !folded.has(x))) {
      const parts = (partsOf.get(r) ?? []).map((x) => x.part!);
      const full = parts.length ? `${r.summary} with its ${parts.slice(0, -1).join(", ")}${parts.length > 1 ? " and " : ""}${parts[parts.length - 1]}` : r.summary;
      const [head, ...rest] = full.split(": ");
      const summary = md ? `**${text(head!)}**${rest.length ? `: ${text(rest.join(": "))}` : ""}` : full;
      lines.push(md ? `- ${summary}` : `  ${safe(summary)}`);
      for (const note of r.notes) lines.push(md ? `  - ${text(note)}` : `      ${safe(note)}`);
      for (const warning of r.warnings) lines.push(md ? `  - ⚠️ warning: ${text(warning)}` : `      warning: ${safe(warning)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
