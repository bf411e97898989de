/**
 * Provider schemas rebuilt from the pinned prebuilt cdktf bindings (@cdktf/provider-*), whose
 * npm packages ship no schema. cdktf generated each binding from the provider's real schema, and
 * two traces of it survive in every module:
 *
 * - the compiled `*ToHclTerraform` functions and `synthesizeHclAttributes` methods list every
 *   configurable attribute and block by its Terraform name, with `isBlock`, its collection kind
 *   (simple, list, set, map, struct) and storage class (string, number, stringList, ...); a
 *   block read through `listMapperHcl` is a list, one passed directly is a block of at most one;
 * - the generated TypeScript, embedded in each module's source map, carries the schema's flags
 *   for each of them: `// name - computed: true, optional: true, required: false`.
 *
 * What is approximate (and why it is good enough for judging pve-dualnet's stacks):
 * - computed-only attributes are left out by default; the stacks never set them, and only
 *   reference `id` and block attributes that are configurable. With `{ computedOnly: true }` a
 *   resource's top-level computed-only attributes are added, typed by the getter that follows
 *   their flags (`return this.getStringAttribute('id')`): a provider that really applies (the
 *   local stand-in, stub/local-provider.mjs) must store them in state, so its schema needs them;
 * - min_items is 1 for a required block and 0 otherwise; max_items is 1 or unbounded;
 * - `map(any)` storage (dynamic attributes such as kubernetes_manifest.manifest) becomes
 *   "dynamic"; descriptions, sensitivity and deprecation are not recorded;
 * - cdktf's bindings do not tell a block from a nested attribute (the Plugin Framework's
 *   SingleNestedAttribute, ListNestedAttribute): both are `isBlock: true`. A provider that declares
 *   no blocks at all is rebuilt with `{ nestedAttributes: true }`: every such entry becomes an
 *   attribute with a `nested_type` of the same nesting, as the provider serves it (hashicorp/helm
 *   3.x: `kubernetes = { ... }` on the provider, `set = [ ... ]` on helm_release; its
 *   helm/provider.go and helm/resource_helm_release.go at v3.1.1 declare no `Blocks`).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";

interface HclEntry {
  readonly isBlock: boolean;
  readonly type: string;
  readonly storageClassType: string;
  /** The struct's function name, for blocks and object attributes. */
  readonly struct?: string;
  /** Read through listMapperHcl: an unbounded list (else a block has at most one element). */
  readonly mapped: boolean;
}

interface Flags {
  readonly computed: boolean;
  readonly optional: boolean;
  readonly required: boolean;
  /** The getter the binding reads the attribute with (getStringAttribute, ...), when it follows the flags. */
  readonly getter?: string;
}

/** Everything one binding module (a resource or the provider) tells about its schema. */
interface ModuleTrace {
  /** `<struct>ToHclTerraform` (or a class name for synthesizeHclAttributes) -> entries. */
  readonly hcl: Map<string, Map<string, HclEntry>>;
  /** Class name (resource, provider, `<Struct>OutputReference`) -> flags per attribute. */
  readonly flags: Map<string, Map<string, Flags>>;
  /** Resource or provider class -> its Terraform type name. */
  readonly types: Map<string, string>;
}

const ENTRY = /^\s*"?([\w-]+)"?: \{\s*value: ([^\n]*?),?\s*isBlock: (true|false),\s*type: "(\w+)",\s*storageClassType: "(\w+)",?\s*\}/gm;
const FLAGS = /^\s*\/\/ ([\w-]+) - computed: (true|false), optional: (true|false), required: (true|false)$(?:\n\s*public get \w+\(\) \{\n\s*return this\.(get\w+Attribute)\('([\w-]+)'\);)?/gm;

function jsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return jsFiles(full);
    return name.endsWith(".js") ? [full] : [];
  });
}

function traceModule(dir: string): ModuleTrace {
  const trace: ModuleTrace = { hcl: new Map(), flags: new Map(), types: new Map() };
  for (const file of jsFiles(dir)) {
    const js = readFileSync(file, "utf8");
    // Compiled functions and methods: split at each owner and read its entries.
    const owners = [...js.matchAll(/function (\w+)ToHclTerraform\(struct\)|^class (\w+) extends cdktf\.Terraform(?:Resource|Provider)/gm)];
    owners.forEach((owner, i) => {
      const body = js.slice(owner.index!, owners[i + 1]?.index ?? js.length);
      const name = owner[1] ?? owner[2]!;
      const section = owner[1] ? body : body.slice(body.indexOf("synthesizeHclAttributes()"));
      const entries = new Map<string, HclEntry>();
      for (const m of section.matchAll(ENTRY)) {
        const [, key, value, isBlock, type, storageClassType] = m;
        // The struct's own function, not cdktf's stringToHclTerraform and friends.
        const known = [...value!.matchAll(/(\w+)ToHclTerraform\b/g)].map((s) => s[1]!).find((s) => !/^(string|number|boolean|any|hash)/.test(s));
        entries.set(key!, { isBlock: isBlock === "true", type: type!, storageClassType: storageClassType!, struct: known, mapped: value!.includes("listMapperHcl") });
      }
      trace.hcl.set(name, entries);
      if (owner[2]) {
        const tf = /\.tfResourceType = "([\w-]+)"/.exec(js.slice(owner.index!))?.[1];
        if (tf) trace.types.set(name, tf);
      }
    });
    // The generated TypeScript in the source map: flags per class.
    const map = /sourceMappingURL=data:application\/json;base64,(\S+)/.exec(js);
    if (!map) continue;
    const source: string = JSON.parse(Buffer.from(map[1]!, "base64").toString("utf8")).sourcesContent?.[0] ?? "";
    const classes = [...source.matchAll(/^export class (\w+) extends /gm)];
    classes.forEach((cls, i) => {
      const body = source.slice(cls.index!, classes[i + 1]?.index ?? source.length);
      const flags = new Map<string, Flags>();
      for (const f of body.matchAll(FLAGS)) {
        const getter = f[6] === f[1] ? f[5] : undefined;
        flags.set(f[1]!, { computed: f[2] === "true", optional: f[3] === "true", required: f[4] === "true", ...(getter ? { getter } : {}) });
      }
      if (flags.size) trace.flags.set(cls[1]!, flags);
    });
  }
  return trace;
}

const SIMPLE: Record<string, unknown> = { string: "string", number: "number", boolean: "bool" };
/** The types of computed-only attributes, by the getter that reads them (others are left out). */
const GETTER: Record<string, unknown> = {
  getStringAttribute: "string",
  getNumberAttribute: "number",
  getBooleanAttribute: "bool",
  getListAttribute: ["list", "string"],
  getStringMapAttribute: ["map", "string"],
};
const COLLECTION: Record<string, unknown> = {
  stringList: "string",
  numberList: "number",
  booleanList: "bool",
  stringMap: "string",
  numberMap: "number",
  booleanMap: "bool",
};

/** Struct function name (daemonSetV1SpecToHclTerraform -> daemonSetV1Spec) -> class name prefix. */
const structClass = (struct: string) => struct.charAt(0).toUpperCase() + struct.slice(1);

function attributeType(trace: ModuleTrace, entry: HclEntry): unknown {
  if (entry.storageClassType === "anyMap") return "dynamic";
  if (entry.type === "simple") return SIMPLE[entry.storageClassType];
  const element = COLLECTION[entry.storageClassType];
  if (element !== undefined) return [entry.type, element];
  if (entry.struct) {
    const object = ["object", objectAttributes(trace, entry.struct)];
    return entry.type === "list" || entry.type === "set" ? [entry.type, object] : object;
  }
  throw new Error(`unknown storage class ${entry.storageClassType} (${entry.type})`);
}

function objectAttributes(trace: ModuleTrace, struct: string): Record<string, unknown> {
  const entries = trace.hcl.get(struct);
  if (!entries) throw new Error(`no ${struct}ToHclTerraform in the binding`);
  return Object.fromEntries([...entries].map(([key, entry]) => [key, attributeType(trace, entry)]));
}

function block(trace: ModuleTrace, owner: string, flagsClass: string, computedOnly = false, nestedAttributes = false): Record<string, unknown> {
  const entries = trace.hcl.get(owner);
  if (!entries) throw new Error(`no entries for ${owner} in the binding`);
  const flags = trace.flags.get(flagsClass) ?? new Map<string, Flags>();
  const attributes: Record<string, unknown> = {};
  const blockTypes: Record<string, unknown> = {};
  for (const [key, entry] of entries) {
    const f = flags.get(key) ?? { computed: false, optional: true, required: false };
    if (entry.isBlock) {
      const nested = block(trace, entry.struct!, `${structClass(entry.struct!)}OutputReference`, false, nestedAttributes);
      const nesting = entry.type === "struct" ? "single" : entry.type;
      if (nestedAttributes) {
        attributes[key] = {
          nested_type: { attributes: nested.attributes, nesting_mode: nesting },
          ...(f.required ? { required: true } : { optional: true }),
          ...(f.computed ? { computed: true } : {}),
        };
        continue;
      }
      blockTypes[key] = {
        nesting_mode: nesting,
        block: nested,
        ...(f.required && nesting !== "single" ? { min_items: 1 } : {}),
        ...(nesting !== "single" && !entry.mapped ? { max_items: 1 } : {}),
      };
    } else {
      attributes[key] = {
        type: attributeType(trace, entry),
        ...(f.required ? { required: true } : { optional: true }),
        ...(f.computed ? { computed: true } : {}),
      };
    }
  }
  if (computedOnly) {
    for (const [key, f] of flags) {
      const type = f.getter && GETTER[f.getter];
      if (entries.has(key) || !f.computed || f.optional || f.required || !type) continue;
      attributes[key] = { type, computed: true };
    }
  }
  return { attributes, ...(Object.keys(blockTypes).length ? { block_types: blockTypes } : {}) } as { attributes: Record<string, unknown>; block_types?: Record<string, unknown> };
}

/**
 * A `terraform providers schema -json` document for one provider, with the resources of the
 * given Terraform types, rebuilt from its binding package (computed-only attributes too, with
 * `computedOnly`; nested attributes instead of blocks, with `nestedAttributes`).
 */
export function bindingSchema(pkg: string, address: string, resourceTypes: readonly string[], options: { computedOnly?: boolean; nestedAttributes?: boolean } = {}): object {
  const lib = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), "lib");
  const modules = readdirSync(lib).filter((d) => statSync(path.join(lib, d)).isDirectory());
  const traces = new Map<string, ModuleTrace>();
  const traceOf = (dir: string) => {
    if (!traces.has(dir)) traces.set(dir, traceModule(path.join(lib, dir)));
    return traces.get(dir)!;
  };
  const schemaOf = (dir: string, tfType: string) => {
    const trace = traceOf(dir);
    const cls = [...trace.types].find(([, t]) => t === tfType)?.[0];
    if (!cls) throw new Error(`${pkg}/lib/${dir} does not bind ${tfType}`);
    return { version: 0, block: block(trace, cls, cls, options.computedOnly && tfType !== prefix, options.nestedAttributes) };
  };
  // Module directories are the type names in kebab case, without the provider prefix.
  const prefix = address.split("/").pop()!;
  const dirOf = (tfType: string) => {
    const dir = tfType.replace(new RegExp(`^${prefix}_`), "").replace(/_/g, "-");
    if (!modules.includes(dir)) throw new Error(`${pkg} has no module for ${tfType}`);
    return dir;
  };
  const provider = schemaOf("provider", prefix);
  // The provider's `alias` is a meta-argument, not part of its schema.
  delete (provider.block.attributes as Record<string, unknown>).alias;
  return {
    format_version: "1.0",
    provider_schemas: {
      [address]: {
        provider,
        resource_schemas: Object.fromEntries(resourceTypes.map((t) => [t, schemaOf(dirOf(t), t)])),
        data_source_schemas: {},
      },
    },
  };
}
