/**
 * A resource whose Terraform JSON its construct writes itself, for the fast synth
 * (patches/cdktf-fast-synth.ts): the elements that scale with the VMs (each VM, its firewall
 * options and rules) skip the generated binding (its dozens of objects per resource, its
 * synthesizeAttributes), cdktf's element assembly (snake case, dynamic blocks, the merge of
 * meta-arguments and overrides) and the tokens of its references.
 *
 * The construct hands over the attributes in Terraform's names (a `PlainSpec` maps the binding's
 * configuration to them, as the binding's converters do) and the resources it depends on; the
 * element is still a construct at the same place, so its address (cdktf's logical id, from its
 * path) and its metadata are cdktf's own. Its JSON still goes through the stack's aspects (every
 * literal escaped by constructs/terraform-text.ts) and the fast synth's resolve, like every
 * element's. `__tests__/fast-synth.test.ts` holds it to the binding's JSON, byte for byte.
 */
import { TerraformElement, TerraformResource, TerraformStack, type ITerraformDependable } from "cdktf";
import type { Construct } from "constructs";

/**
 * How a binding's configuration becomes Terraform JSON: for each key the construct may set, its
 * Terraform name, and for a nested block its own spec (`list` for a list of blocks). A key the
 * spec does not know is an error: the fast synth never drops what the binding would write.
 */
export type PlainSpec = { readonly [key: string]: string | readonly [name: string, block: PlainSpec, kind?: "list"] };

/** cdktf's TerraformElement keeps the element type to itself; a PlainResource names it here. */
const ADDRESS = Symbol("pve-dualnet plain resource address");

/**
 * A resource's JSON written from plain configuration. `dependsOn` resources are named as cdktf's
 * `depends_on` names them: `<type>.<logical id>`.
 */
export class PlainResource extends TerraformElement {
  readonly terraformResourceType: string;
  private readonly attributes: Record<string, unknown>;
  private readonly dependencies: readonly ITerraformDependable[] | undefined;
  private readonly overridden: readonly string[];

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
    const { dependsOn, lifecycle, ...config } = props.config;
    this.attributes = plainAttributes(config, props.spec, props.type);
    // cdktf's lifecycleToTerraform and keysToSnakeCase: the same keys, snake case.
    if (lifecycle) this.attributes.lifecycle = plainAttributes(lifecycle as Record<string, unknown>, LIFECYCLE, `${props.type}.lifecycle`, true);
    Object.assign(this.attributes, props.overrides);
    this.overridden = Object.keys(props.overrides ?? {});
    this.dependencies = dependsOn;
    Object.defineProperty(this, ADDRESS, { value: true });
  }

  /** cdktf's TerraformResource.toMetadata: the stack's metadata lists the overridden attributes of every resource. */
  override toMetadata(): Record<string, unknown> {
    return this.overridden.length ? { overrides: { [this.terraformResourceType]: [...this.overridden] } } : {};
  }

  override toTerraform(): Record<string, unknown> {
    const attributes: Record<string, unknown> = { ...this.attributes };
    if (this.dependencies) attributes.depends_on = this.dependencies.map((d) => dependencyAddress(d, this));
    attributes["//"] = { metadata: { path: this.node.path, uniqueId: this.friendlyUniqueId } };
    return { resource: { [this.terraformResourceType]: { [this.friendlyUniqueId]: attributes } } };
  }
}

/** The lifecycle settings a PlainResource writes (replace_triggered_by, which names resources, is left to the binding). */
const LIFECYCLE: PlainSpec = { ignoreChanges: "ignore_changes", createBeforeDestroy: "create_before_destroy", preventDestroy: "prevent_destroy" };

/**
 * What cdktf writes in `depends_on` for a dependency: `<type>.<logical id>` of a resource in the
 * same stack (its fqn, resolved without braces). Anything else (another stack's resource, some
 * other dependable) is left to cdktf: its fqn token, which the synth resolves as cdktf does.
 */
function dependencyAddress(dependency: ITerraformDependable, from: TerraformElement): string {
  if (TerraformElement.isTerraformElement(dependency) && TerraformStack.of(dependency) === TerraformStack.of(from)) {
    if (ADDRESS in dependency || TerraformResource.isTerraformResource(dependency)) {
      return `${(dependency as unknown as { terraformResourceType: string }).terraformResourceType}.${dependency.friendlyUniqueId}`;
    }
  }
  return dependency.fqn;
}

/**
 * The configuration in Terraform's names, as the binding writes it: keys renamed, undefined
 * values left out, a block without any value left out as the binding's output reference leaves
 * it (an empty object stays one; a block inside a list is kept as it is), a list of blocks mapped
 * element by element.
 */
function plainAttributes(config: Record<string, unknown>, spec: PlainSpec, where: string, inList = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(config)) {
    const value = config[key];
    const field = spec[key];
    if (field === undefined) throw new Error(`${where}: the fast synth has no Terraform name for ${key} (add it to the PlainSpec)`);
    if (value === undefined) continue;
    if (typeof field === "string") {
      out[field] = value;
      continue;
    }
    const [name, block, kind] = field;
    if (kind === "list") {
      if (!Array.isArray(value)) throw new Error(`${where}.${key}: a list of blocks expected`);
      out[name] = value.map((item: Record<string, unknown>) => plainAttributes(item, block, `${where}.${key}`, true));
      continue;
    }
    const mapped = plainAttributes(value as Record<string, unknown>, block, `${where}.${key}`, inList);
    // The binding keeps a block (not one inside a list) in an output reference, which returns
    // nothing when none of its values is set.
    if (!inList && Object.keys(mapped).length === 0 && Object.keys(value as object).length > 0) continue;
    out[name] = mapped;
  }
  return out;
}
