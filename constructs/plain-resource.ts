/**
 * A resource whose Terraform JSON its construct writes itself, for the fast synth
 * (patches/cdktf-fast-synth.ts): the elements that scale with the VMs (each VM, its firewall
 * options and rules) skip the generated binding (its dozens of objects per resource, its
 * synthesizeAttributes), cdktf's element assembly (snake case, dynamic blocks, the merge of
 * meta-arguments and overrides), the tokens of its references, and the walks over every element's
 * JSON that escape its literals and resolve its tokens.
 *
 * The construct hands over the binding's configuration and a `PlainSpec` of Terraform's names
 * for it (as the binding's converters name them); the element is still a construct at the same
 * place, so its address (cdktf's logical id, from its path) and its metadata are cdktf's own.
 * Its JSON is made once, as the stack's document needs it: keys in the order the writer sorts
 * them in, every string and key escaped by the one writer of Terraform strings
 * (constructs/terraform-text.ts, whose aspect then leaves the element alone), and checked for
 * cdktf's token markers (which a description may not hold, config/text.ts; where one is there all
 * the same, the JSON goes through cdktf's resolve like any element's). `depends_on` names
 * resources as cdktf's resolve does. `__tests__/fast-synth.test.ts` holds all of it to cdktf's
 * own synth with the bindings, byte for byte.
 */
import { TerraformElement, TerraformResource, TerraformStack, type ITerraformDependable } from "cdktf";
import type { Construct } from "constructs";
import { escapeLiterals, ESCAPES_OWN_LITERALS } from "./terraform-text";
import { isTokenNumber, isTokenString, ORDERED_BLOCK, type ResolvedResource } from "../patches/cdktf-fast-synth";

/**
 * How a binding's configuration becomes Terraform JSON: for each key the construct may set, its
 * Terraform name, and for a nested block its own spec (`list` for a list of blocks). A key the
 * spec does not know is an error: the fast synth never drops what the binding would write.
 */
export type PlainSpec = { readonly [key: string]: string | readonly [name: string, block: PlainSpec, kind?: "list"] };

/** cdktf's TerraformElement keeps the element type to itself; a PlainResource names it here. */
const ADDRESS = Symbol("pve-dualnet: plain resource");

/** What one walk over a resource's values found. */
interface Found {
  /** A token marker, or a value that is not plain data: the JSON goes through cdktf's resolve. */
  token: boolean;
  /** Empty arrays and objects (which the stack's writer writes in a form of its own). */
  empties: number;
}

/**
 * A resource's JSON written from the binding's configuration. `dependsOn` resources are named as
 * cdktf's `depends_on` names them: `<type>.<logical id>`.
 */
export class PlainResource extends TerraformElement {
  /** Marks of every PlainResource: its own (for depends_on), and the aspect's (constructs/terraform-text.ts). */
  static {
    Object.defineProperty(PlainResource.prototype, ADDRESS, { value: true });
    Object.defineProperty(PlainResource.prototype, ESCAPES_OWN_LITERALS, { value: true });
  }
  readonly terraformResourceType: string;
  private readonly attributes: Record<string, unknown>;
  private readonly dependencies: readonly ITerraformDependable[] | undefined;
  private readonly overridden: readonly string[];
  private readonly found: Found = { token: false, empties: 0 };

  constructor(
    scope: Construct,
    id: string,
    props: {
      /** The resource type, as the binding names it. */
      readonly type: string;
      /** The binding's configuration: its attributes by `spec`, and the meta-arguments dependsOn and lifecycle. */
      readonly config: { readonly dependsOn?: readonly ITerraformDependable[]; readonly lifecycle?: object };
      readonly spec: PlainSpec;
      /** What the binding would get by addOverride, in Terraform's names: written as it is. */
      readonly overrides?: Record<string, unknown>;
    },
  ) {
    super(scope, id, props.type);
    this.terraformResourceType = props.type;
    const { dependsOn, lifecycle } = props.config;
    const attributes = plainAttributes(props.config as Record<string, unknown>, props.spec, props.type, this.found, false, META);
    // cdktf's lifecycleToTerraform and keysToSnakeCase: the same keys, snake case.
    if (lifecycle) attributes.lifecycle = plainAttributes(lifecycle as Record<string, unknown>, LIFECYCLE, `${props.type}.lifecycle`, this.found, true);
    for (const [key, value] of Object.entries(props.overrides ?? {})) attributes[escapeKey(key, this.found)] = plainValue(value, this.found);
    // The metadata and the references are written by toTerraform, in these places.
    attributes["//"] = undefined;
    if (dependsOn) attributes.depends_on = undefined;
    this.attributes = inKeyOrder(attributes);
    this.overridden = Object.keys(props.overrides ?? {});
    this.dependencies = dependsOn;
  }

  /** cdktf's TerraformResource.toMetadata: the stack's metadata lists the overridden attributes of every resource. */
  override toMetadata(): Record<string, unknown> {
    return this.overridden.length ? { overrides: { [this.terraformResourceType]: [...this.overridden] } } : {};
  }

  /** The element's JSON: its attributes object itself (keys in order), with the metadata and references written into it. */
  override toTerraform(): Record<string, unknown> {
    const { type, name, attributes } = this.block();
    return { resource: { [type]: { [name]: attributes } } };
  }

  /**
   * For the fast synth's stack document: this element's JSON as cdktf's resolve would return it,
   * in its parts, or undefined where it holds something only cdktf's resolve can turn into JSON.
   */
  resolvedResource(): ResolvedResource | undefined {
    const block = this.block();
    return this.found.token ? undefined : block;
  }

  /** The attributes object itself (keys in order), with the metadata and references written into it. */
  private block(): ResolvedResource {
    const attributes = this.attributes;
    if (this.dependencies) attributes.depends_on = this.dependencies.map((d) => dependencyAddress(d, this, this.found));
    attributes["//"] = { metadata: { path: this.node.path, uniqueId: this.friendlyUniqueId } };
    if (this.found.token) delete (attributes as { [ORDERED_BLOCK]?: number })[ORDERED_BLOCK];
    else (attributes as { [ORDERED_BLOCK]?: number })[ORDERED_BLOCK] = this.found.empties + (this.dependencies?.length === 0 ? 1 : 0);
    return { type: this.terraformResourceType, name: this.friendlyUniqueId, attributes };
  }
}

/** The meta-arguments a PlainResource writes apart from the attributes. */
const META: ReadonlySet<string> = new Set(["dependsOn", "lifecycle"]);

/** The lifecycle settings a PlainResource writes (replace_triggered_by, which names resources, is left to the binding). */
const LIFECYCLE: PlainSpec = { ignoreChanges: "ignore_changes", createBeforeDestroy: "create_before_destroy", preventDestroy: "prevent_destroy" };

/**
 * What cdktf writes in `depends_on` for a dependency: `<type>.<logical id>` of a resource in the
 * same stack (its fqn, resolved without braces). Anything else (another stack's resource, some
 * other dependable) is left to cdktf: its fqn token, which cdktf's resolve turns into its name.
 */
function dependencyAddress(dependency: ITerraformDependable, from: TerraformElement, found: Found): string {
  if (TerraformElement.isTerraformElement(dependency) && TerraformStack.of(dependency) === TerraformStack.of(from)) {
    if (ADDRESS in dependency || TerraformResource.isTerraformResource(dependency)) {
      return escapeString(`${(dependency as unknown as { terraformResourceType: string }).terraformResourceType}.${dependency.friendlyUniqueId}`, found);
    }
  }
  found.token = true;
  return dependency.fqn;
}

/** The fields of a spec in the order of their Terraform names, the order the stack's writer sorts keys in. */
const orders = new WeakMap<PlainSpec, (readonly [string, PlainSpec[string]])[]>();
function inOrder(spec: PlainSpec): (readonly [string, PlainSpec[string]])[] {
  let order = orders.get(spec);
  if (!order) {
    const name = (field: PlainSpec[string]) => (typeof field === "string" ? field : field[0]);
    order = Object.entries(spec).sort(([, a], [, b]) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
    orders.set(spec, order);
  }
  return order;
}

/**
 * The configuration in Terraform's names, as the binding writes it: keys renamed, undefined
 * values left out, a block without any value left out as the binding's output reference leaves
 * it (an empty object stays one; a block inside a list is kept as it is), a list of blocks mapped
 * element by element; every value as plainValue makes it.
 */
function plainAttributes(config: Record<string, unknown>, spec: PlainSpec, where: string, found: Found, inList = false, skip?: ReadonlySet<string>): Record<string, unknown> {
  for (const key of Object.keys(config)) {
    if (!Object.hasOwn(spec, key) && !skip?.has(key)) throw new Error(`${where}: the fast synth has no Terraform name for ${key} (add it to the PlainSpec)`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, field] of inOrder(spec)) {
    const value = config[key];
    if (value === undefined) continue;
    if (typeof field === "string") {
      out[field] = plainValue(value, found);
      continue;
    }
    const [name, block, kind] = field;
    if (kind === "list") {
      if (!Array.isArray(value)) throw new Error(`${where}.${key}: a list of blocks expected`);
      out[name] = value.map((item: Record<string, unknown>) => plainAttributes(item, block, `${where}.${key}`, found, true));
      if (value.length === 0) found.empties++;
      continue;
    }
    const mapped = plainAttributes(value as Record<string, unknown>, block, `${where}.${key}`, found, inList);
    // The binding keeps a block (not one inside a list) in an output reference, which returns
    // nothing when none of its values is set.
    if (Object.keys(mapped).length === 0) {
      if (!inList && Object.keys(value as object).length > 0) continue;
      found.empties++;
    }
    out[name] = mapped;
  }
  return out;
}

/**
 * A value as the stack's document holds it after the aspect and cdktf's resolve: strings (and
 * keys) escaped, objects with their keys in order, undefined left out of objects. Anything that
 * may be a token, or is not plain data, is kept as it is and sends the element's JSON through
 * cdktf's resolve.
 */
function plainValue(value: unknown, found: Found): unknown {
  switch (typeof value) {
    case "string":
      return escapeString(value, found);
    case "number":
      if (isTokenNumber(value)) found.token = true;
      return value;
    case "boolean":
      return value;
    case "object": {
      if (value === null) return null;
      if (Array.isArray(value)) {
        if (value.length === 0) found.empties++;
        return value.map((item) => plainValue(item, found));
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if ((proto !== Object.prototype && proto !== null) || typeof (value as { resolve?: unknown }).resolve === "function") break;
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value).sort()) {
        const item = (value as Record<string, unknown>)[key];
        if (item !== undefined) out[escapeKey(key, found)] = plainValue(item, found);
      }
      if (Object.keys(out).length === 0) found.empties++;
      return out;
    }
  }
  found.token = true;
  return value;
}

/** A string escaped as the aspect escapes it; one that may hold a token is noted. */
function escapeString(value: string, found: Found): string {
  if (isTokenString(value)) found.token = true;
  return escapeLiterals(value);
}

/** A key escaped as the aspect escapes keys. */
function escapeKey(key: string, found: Found): string {
  const escaped = escapeString(key, found);
  if (escaped !== key) found.token = true; // a key that changes may change the order: let the writer sort
  return escaped;
}

/** Sorted key lists, by the keys in their first order: the resources of one kind share a few. */
const keyOrders = new Map<string, string[]>();

/** A copy of an object with its keys in sorted order (the writer's order). */
function inKeyOrder(record: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(record);
  const signature = keys.join("\0");
  let sorted = keyOrders.get(signature);
  if (!sorted) keyOrders.set(signature, (sorted = [...keys].sort()));
  const out: Record<string, unknown> = {};
  for (const key of sorted) out[key] = record[key];
  return out;
}
