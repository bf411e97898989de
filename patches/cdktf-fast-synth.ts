/**
 * What cdktf does for every app that pve-dualnet's stacks never need, and that costs much of a
 * large synth (measured by `npm run bench`; the output is byte-identical either way):
 *
 * - it records a complete stack trace, at unlimited depth, for every token it creates (so that
 *   an error resolving one can say where it was made); the generated VM binding creates dozens
 *   per VM, and every token is resolved, so no trace is ever read;
 * - before writing, it resolves every stack once in full only to discover references from one
 *   stack to another; pve-dualnet's stacks share nothing (each derives what it needs from the
 *   description), and Terraform's validate, run on every stack by the tests, rejects a stack
 *   that would refer to another's resource;
 * - after resolving every element of a stack, it resolves the whole stack document again; every
 *   part of it is resolved by then, so the second pass only copies it (it still runs for a stack
 *   with overrides of its own, which nothing has resolved);
 * - its resolve copies every value, token or not (resolveOnlyTokens keeps what has no token);
 * - its stack document is a deep copy (deepMerge) of every element's resolved JSON; the elements'
 *   own objects go in instead, copied only where a later element merges into them (stackDocument);
 * - every element turns its meta-arguments' keys to snake case with three regular expressions a
 *   key and copies its attributes through arrays of entries (the results remembered, the copy
 *   made plainly: keysToSnakeCaseOnce, copyDynamicAttributes);
 * - it writes a stack's JSON with json-stable-stringify, which holds the whole text and an array
 *   of strings at every level in memory (writeStableJson writes the same bytes in pieces, by
 *   JSON.stringify of blocks whose keys are already in order, copying only those that are not);
 * - before writing a stack it walks the construct tree three times for the aspects, the custom
 *   synthesis and the annotations, the first keeping a record of every construct's path (the same
 *   steps with two walks and no record: prepareStack).
 * - every element's logical id copies the list of its scopes twice, filters and maps it twice
 *   more and makes a hash object for the md5 of its path (the same id from one walk up the tree
 *   and a one-shot md5: logicalId).
 *
 * `PVE_DUALNET_STOCK_SYNTH=1` restores cdktf's own behaviour for all of them, to debug a cdktf error.
 */
import * as crypto from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from "node:fs";
import * as path from "node:path";
import { Annotations, Aspects, type IAspect, TerraformElement, TerraformOutput, TerraformStack, Tokenization } from "cdktf";
import type { IConstruct, IValidation } from "constructs";

export const STOCK_SYNTH_ENV = "PVE_DUALNET_STOCK_SYNTH";

interface StackTraceModule {
  captureStackTrace: (below?: unknown) => string[];
}

interface TokensModule {
  resolve: (scope: unknown, obj: unknown, preparing?: boolean) => unknown;
}

interface UtilModule {
  deepMerge: (target: unknown, ...sources: unknown[]) => unknown;
  snakeCase: (text: string) => string;
  keysToSnakeCase: (object: unknown) => unknown;
  processDynamicAttributes: (attributes: Record<string, unknown>) => Record<string, unknown>;
}

interface SynthesizerModule {
  StackSynthesizer: { prototype: StackSynthesizer };
}

interface StackSynthesizer {
  stack: { toTerraform: () => unknown };
  hclOutput: boolean;
  continueOnErrorAnnotations: boolean;
  synthesize: (session: { outdir: string; manifest: { forStack: (stack: unknown) => { synthesizedStackPath: string } } }) => void;
}

/**
 * A whole stack document as TerraformStack.toTerraform assembles it from resolved elements (its
 * "//" holds metadata and outputs), of a stack without overrides of its own.
 */
function isResolvedStackDocument(scope: unknown, obj: unknown): boolean {
  if (!obj || typeof obj !== "object" || !("//" in obj)) return false;
  const meta = (obj as Record<string, unknown>)["//"];
  if (!meta || typeof meta !== "object" || !("metadata" in meta) || !("outputs" in meta)) return false;
  const overrides = (scope as { rawOverrides?: object } | undefined)?.rawOverrides;
  return !!overrides && Object.keys(overrides).length === 0;
}

let patched = false;

/** cdktf's lib/util, once patched. */
let util: UtilModule;

let fast = false;

/** Whether this process synthesizes the fast way (see above). */
export const fastSynth = () => fast;

/**
 * Turns the fast synth on for this process, unless the environment asks for cdktf's own. A later
 * call switches again (the tests compare both ways in one process).
 */
export function useFastSynth(env: NodeJS.ProcessEnv): void {
  fast = env[STOCK_SYNTH_ENV] !== "1";
  if (!fast || patched) return;
  patched = true;
  // cdktf calls the function through this module's exports at each use, so replacing the export
  // reaches every caller. A deep require: cdktf has no option for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const stackTrace = require("cdktf/lib/tokens/private/stack-trace") as StackTraceModule;
  const capture = stackTrace.captureStackTrace;
  stackTrace.captureStackTrace = (below) => (fast ? [] : capture(below));
  // TerraformStack calls resolve through this module's exports too.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tokens = require("cdktf/lib/_tokens") as TokensModule;
  const resolve = tokens.resolve;
  tokens.resolve = (scope, obj, preparing) => {
    if (!fast) return resolve(scope, obj, preparing);
    return isResolvedStackDocument(scope, obj) ? obj : resolveOnlyTokens(obj, (part) => resolve(scope, part, preparing));
  };
  // Every element's toTerraform() turns the meta-arguments' keys to snake case (three regular
  // expressions a key, the same five keys for every resource) and copies its attributes looking
  // for dynamic blocks: the same results, with each key's snake case computed once and the copy
  // made without the arrays of entries and closures. Elements call both through the module's exports.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  util = require("cdktf/lib/util") as UtilModule;
  const { keysToSnakeCase, processDynamicAttributes } = util;
  const snakeCase = util.snakeCase;
  const snakeCases = new Map<string, string>();
  const snake = (key: string) => {
    let cased = snakeCases.get(key);
    if (cased === undefined) snakeCases.set(key, (cased = snakeCase(key)));
    return cased;
  };
  util.keysToSnakeCase = (object) => (fast ? keysToSnakeCaseOnce(object, snake) : keysToSnakeCase(object));
  util.processDynamicAttributes = (attributes) => (fast ? copyDynamicAttributes(attributes) : processDynamicAttributes(attributes));
  // The stack synthesizer writes a stack's document with json-stable-stringify, which builds the
  // whole text (and an array of strings at every level) in memory. The same bytes are written
  // here as they are made: writeStableJson. Everything else of cdktf's synthesize runs as it is
  // (aspects, validations, annotations, the manifest); it gets an empty document to write, and
  // the stack's own is written over it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const synthesizer = (require("cdktf/lib/synthesize/synthesizer") as SynthesizerModule).StackSynthesizer.prototype;
  const synthesize = synthesizer.synthesize;
  synthesizer.synthesize = function fastSynthesize(this: StackSynthesizer, session) {
    if (!fast || this.hclOutput) return synthesize.call(this, session);
    const stack = this.stack as unknown as SynthStack;
    prepareStack(stack, session as unknown as Session, this.continueOnErrorAnnotations);
    const document = hasOverrides(stack) ? stack.toTerraform() : stackDocument(stack, resolve);
    writeStableJson(path.join(session.outdir, session.manifest.forStack(stack).synthesizedStackPath), document);
  };
}

/** Path components cdktf's makeUniqueId leaves out entirely, and out of the human part (lib/private/unique.js). */
const HIDDEN_ID = "Default";
const HIDDEN_FROM_HUMAN_ID = "Resource";
/** The characters makeUniqueId removes from each component. */
const DISALLOWED = /[^A-Za-z0-9_-]/g;
/** Node's one-shot hash (Node 20.12 and later), or a hash object. */
const md5Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === "function"
    ? (text) => (crypto as unknown as { hash: (algorithm: string, data: string, encoding: string) => string }).hash("md5", text, "hex")
    : (text) => crypto.createHash("md5").update(text).digest("hex");

/**
 * cdktf 0.21's TerraformStack.allocateLogicalId (lib/terraform-stack.js) with its makeUniqueId
 * (lib/private/unique.js): the ids of the scopes below the element's stack (`stack` for a
 * construct that is no element), "Default" left out; a single one without the disallowed
 * characters, if it is 255 of them or fewer; otherwise the components without consecutive
 * repeats (one that the one before it ends with), without "Resource" and the disallowed
 * characters, joined by "_" and cut at 240, then "_" and the first 8 hex digits of the md5 of
 * the path, in capitals. Undefined where cdktf would not find the stack among the scopes or
 * would throw (no components left): the caller leaves those to cdktf. The byte-identity test of
 * fast-synth.test.ts is the gate.
 */
export function logicalId(stack: IConstruct, target: IConstruct): string | undefined {
  const ids: string[] = [];
  let scope: IConstruct | undefined = target;
  const element = TerraformElement.isTerraformElement(target);
  for (; scope; scope = scope.node.scope) {
    // An element's stack is the nearest stack up from it (TerraformStack.of), the element itself included.
    if (element ? TerraformStack.isStack(scope) : scope === stack) break;
    ids.push(scope.node.id);
  }
  if (!scope) return undefined;
  ids.reverse();
  if (ids.length === 0) return "";
  const components = ids.includes(HIDDEN_ID) ? ids.filter((id) => id !== HIDDEN_ID) : ids;
  if (components.length === 0) return undefined;
  if (components.length === 1) {
    const candidate = components[0]!.replace(DISALLOWED, "");
    if (candidate.length <= 255) return candidate;
  }
  const hash = md5Hex(components.join("/")).slice(0, 8).toUpperCase();
  const human: string[] = [];
  let last: string | undefined;
  for (const component of components) {
    // removeDupes compares with the last component kept, before "Resource" is left out.
    if (last !== undefined && last.endsWith(component)) continue;
    last = component;
    if (component !== HIDDEN_FROM_HUMAN_ID) human.push(component.replace(DISALLOWED, ""));
  }
  return `${human.join("_").slice(0, 240)}_${hash}`;
}

/** The parts of a TerraformStack that StackSynthesizer.synthesize uses. */
interface SynthStack extends Stack {
  toTerraform: () => unknown;
  hasResourceMove: () => boolean;
  runAllValidations: () => void;
}

/** The synthesis session as StackSynthesizer.synthesize reads it. */
interface Session {
  outdir: string;
  skipValidation?: boolean;
  manifest: { forStack: (stack: unknown) => { workingDirectory: string; synthesizedStackPath: string; annotations: unknown[] } };
}

/** Where cdktf keeps a construct's custom synthesis (cdktf 0.21's lib/synthesize/synthesizer.js: a global symbol). */
const CUSTOM_SYNTHESIS = Symbol.for("cdktf/customSynthesis");

/** The annotation levels cdktf collects into the manifest (AnnotationMetadataEntryType). */
const ANNOTATION_LEVELS: ReadonlySet<unknown> = new Set(["@cdktf/info", "@cdktf/warn", "@cdktf/error"]);

/**
 * What cdktf 0.21's StackSynthesizer.synthesize does before it writes a stack, in the same order
 * and with the same effects: the aspects invoked (each once on each construct, top down, the
 * warning when one adds another), the validation of a resource move added, every validation
 * run, the working directory made, each construct's custom synthesis run (leaves first), and
 * the annotations collected into the manifest (an error annotation stops the synth). cdktf walks
 * the tree for these four times, keeping a record of every construct's path for its aspects;
 * here the aspects' walk keeps none, and one walk yields both orders of the custom synthesis and
 * the annotations (walked again only if a custom synthesis ran, which could add to the tree).
 */
function prepareStack(stack: SynthStack, session: Session, continueOnErrorAnnotations: boolean): void {
  // Deep requires, as above: cdktf exports neither.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { ValidateTerraformVersion } = require("cdktf/lib/validations/validate-terraform-version") as {
    ValidateTerraformVersion: new (version: string, message: string) => IValidation;
  };
  const { encounteredAnnotationWithLevelError } = require("cdktf/lib/errors") as { encounteredAnnotationWithLevelError: (text: string) => Error };
  /* eslint-enable @typescript-eslint/no-require-imports */
  let nestedAspectWarning = false;
  const invokeAspects = (construct: IConstruct, inherited: readonly IAspect[]) => {
    const aspects = Aspects.of(construct);
    const own = aspects.all;
    const here = own.length ? [...inherited, ...own] : inherited;
    const invoked: IAspect[] = [];
    for (const aspect of here) {
      if (invoked.includes(aspect)) continue;
      aspect.visit(construct);
      if (!nestedAspectWarning && own.length !== aspects.all.length) {
        Annotations.of(construct).addWarning("We detected an Aspect was added via another Aspect, and will not be applied");
        nestedAspectWarning = true;
      }
      invoked.push(aspect);
    }
    for (const child of construct.node.children) invokeAspects(child, here);
  };
  invokeAspects(stack, []);
  if (stack.hasResourceMove()) {
    stack.node.addValidation(new ValidateTerraformVersion(">=1.5", "Resource move functionality is only supported for Terraform >=1.5. Please upgrade your Terraform version."));
  }
  if (!session.skipValidation) stack.runAllValidations();
  const stackManifest = session.manifest.forStack(stack);
  const workingDirectory = path.join(session.outdir, stackManifest.workingDirectory);
  if (!existsSync(workingDirectory)) mkdirSync(workingDirectory);
  const walk = (into: { pre: IConstruct[]; post: IConstruct[] }, construct: IConstruct) => {
    into.pre.push(construct);
    for (const child of construct.node.children) walk(into, child);
    into.post.push(construct);
    return into;
  };
  let order = walk({ pre: [], post: [] }, stack);
  let customized = false;
  for (const construct of order.post) {
    const custom = (construct as { [CUSTOM_SYNTHESIS]?: { onSynthesize: (session: Session) => void } })[CUSTOM_SYNTHESIS];
    if (custom) {
      custom.onSynthesize(session);
      customized = true;
    }
  }
  if (customized) order = walk({ pre: [], post: [] }, stack);
  const annotations: { constructPath: string; level: string; message: unknown; stacktrace?: string[] }[] = [];
  for (const construct of order.pre) {
    for (const metadata of construct.node.metadata) {
      if (ANNOTATION_LEVELS.has(metadata.type)) annotations.push({ constructPath: construct.node.path, level: metadata.type, message: metadata.data, stacktrace: metadata.trace });
    }
  }
  stackManifest.annotations = annotations;
  const errors = annotations.filter((a) => a.level === "@cdktf/error");
  if (!continueOnErrorAnnotations && errors.length > 0) {
    throw encounteredAnnotationWithLevelError(errors.map((a) => `[${a.constructPath}] ${a.message}`).join("\n"));
  }
}

/** Whether a stack has overrides of its own (addOverride on the stack), which only cdktf's own toTerraform merges. */
const hasOverrides = (stack: unknown) => {
  const overrides = (stack as { rawOverrides?: object }).rawOverrides;
  return !overrides || Object.keys(overrides).length > 0;
};

/** The parts of a TerraformStack that its toTerraform reads. */
interface Stack extends IConstruct {
  cdktfVersion: string;
}

interface Element extends IConstruct {
  friendlyUniqueId: string;
  toMetadata: () => unknown;
  toTerraform: () => unknown;
}

/** cdktf's terraformElements (lib/terraform-stack.js): the stack's elements, depth first, not those of a nested stack. */
function terraformElements(node: IConstruct, into: Element[] = []): Element[] {
  if (TerraformElement.isTerraformElement(node)) into.push(node as unknown as Element);
  for (const child of node.node.children) if (!TerraformStack.isStack(child)) terraformElements(child, into);
  return into;
}

/**
 * What TerraformStack.toTerraform of cdktf 0.21.0 (lib/terraform-stack.js) returns for a stack
 * without overrides of its own, in the same steps, with one difference that leaves the written
 * JSON the same: cdktf's deepMerge copies every element's resolved JSON into the stack's document
 * (a new object for every object below it), where mergeShared puts the element's own objects in
 * (see there). Its last step, resolving the whole document again, is the copy that
 * isResolvedStackDocument skips.
 */
function stackDocument(stack: Stack, resolve: TokensModule["resolve"]): Record<string, unknown> {
  const tf: Record<string, unknown> = {};
  const metadata = { version: stack.cdktfVersion, stackName: stack.node.id, backend: "local", cloud: undefined };
  const elements = terraformElements(stack);
  const metadatas = elements.map((e) => resolveOnlyTokens(e.toMetadata(), (part) => resolve(stack, part)));
  const grown = new Set<unknown[]>();
  for (const meta of metadatas) mergeAppending(metadata, meta as Record<string, unknown>, grown);
  const outputs = elements.reduce((carry, item) => {
    if (!TerraformOutput.isTerraformOutput(item)) return carry;
    util.deepMerge(
      carry,
      item.node.path.split("/").reduceRight<Record<string, unknown>>((inner, part) => (Object.keys(inner).length === 0 ? { [part]: item.friendlyUniqueId } : { [part]: inner }), {}),
    );
    return carry;
  }, {});
  tf["//"] = { metadata, outputs };
  const fragments = elements.map((e) => {
    // An element that writes its JSON resolved already (constructs/plain-resource.ts), unless it holds a token after all.
    const resolved = (e as { resolvedResource?: () => ResolvedResource | undefined }).resolvedResource?.();
    if (resolved) return { resource: resolved, fragment: undefined, share: true };
    resolvedDate = false;
    const fragment = resolveOnlyTokens(
      e.toTerraform(),
      (part) => {
        const resolved = resolve(stack, part);
        if (typeof resolved === "object" && resolved !== null && holdsDate(resolved)) resolvedDate = true;
        return resolved;
      },
      true,
    );
    return { resource: undefined, fragment, share: !resolvedDate };
  });
  const owned = new Set<object>([tf]);
  for (const { resource, fragment, share } of fragments) {
    if (resource) insertResource(tf, resource, owned);
    else mergeShared(tf, fragment as Record<string, unknown>, owned, share);
  }
  return tf;
}

/**
 * cdktf's deepMerge(target, source) (lib/util.js), the same result, but an array that meets an
 * array is appended to in place where deepMerge copies both into a new one: the stack's metadata
 * lists the overridden attributes of every resource (network_device of every VM), and deepMerge's
 * copies of that growing list cost time in the square of the VMs. `grown` holds the arrays made
 * here, the only ones appended to.
 */
function mergeAppending(target: Record<string, unknown>, source: Record<string, unknown>, grown: Set<unknown[]>): void {
  for (const key of Object.keys(source)) {
    const value = source[key];
    const existing = target[key];
    if (Array.isArray(value) && Array.isArray(existing)) {
      if (grown.has(existing)) {
        for (const item of value) existing.push(item);
      } else {
        const joined = [...existing, ...value];
        grown.add(joined);
        target[key] = joined;
      }
    } else if (typeof value === "object" && value !== null && !Array.isArray(value) && !Tokenization.isResolvable(value) && typeof existing === "object" && existing !== null && !Tokenization.isResolvable(existing)) {
      mergeAppending(existing as Record<string, unknown>, value as Record<string, unknown>, grown);
    } else {
      util.deepMerge(target, { [key]: value });
    }
  }
}

/** A resource's resolved JSON, `{ resource: { [type]: { [name]: attributes } } }`, as its parts. */
export interface ResolvedResource {
  readonly type: string;
  readonly name: string;
  readonly attributes: Record<string, unknown>;
}

/**
 * What mergeShared does with `{ resource: { [type]: { [name]: attributes } } }`, without making
 * that object for every resource: the attributes go in as they are where no earlier element has
 * the name; anything else is left to mergeShared.
 */
function insertResource(tf: Record<string, unknown>, { type, name, attributes }: ResolvedResource, owned: Set<object>): void {
  const plain = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
  const child = (parent: Record<string, unknown>, key: string): Record<string, unknown> | undefined => {
    const existing = parent[key];
    if (existing === undefined) {
      const made = {};
      owned.add(made);
      parent[key] = made;
      return made;
    }
    return plain(existing) && owned.has(existing) ? existing : undefined;
  };
  const resources = child(tf, "resource");
  const byName = resources && child(resources, type);
  if (byName && byName[name] === undefined) byName[name] = attributes;
  else mergeShared(tf, { resource: { [type]: { [name]: attributes } } }, owned, true);
}

/** Set while an element's JSON is resolved: cdktf returned a Date in it (its resolve keeps Dates, and only Dates, as they are). */
let resolvedDate = false;

/** Whether a Date is anywhere in what cdktf's resolve returned. */
function holdsDate(value: object): boolean {
  if (value instanceof Date) return true;
  for (const item of Array.isArray(value) ? value : Object.values(value)) if (typeof item === "object" && item !== null && holdsDate(item)) return true;
  return false;
}

/**
 * cdktf's deepMerge(target, source) (lib/util.js), as the stack document is written: where it
 * would make a new object and copy a plain object of the element's JSON into it (a path no earlier
 * element has), the element's own object goes in; where a later element's JSON then reaches into
 * that object, it is first copied as deepMerge would have copied it, so no element's own object is
 * ever changed. The written JSON is the same: deepMerge's copy has the same keys and values, less
 * those that are undefined, which the writer leaves out as json-stable-stringify does; and what a
 * resolved element holds is plain data: plain objects, arrays and primitives. The exception,
 * a Date (which deepMerge would turn into an empty object), makes `share` false, and the element
 * is copied as deepMerge copies it. `owned` holds the objects made here, which merges may change.
 */
function mergeShared(target: Record<string, unknown>, source: Record<string, unknown>, owned: Set<object>, share: boolean): void {
  for (const key of Object.keys(source)) {
    const value = source[key];
    // Left in objects by resolveOnlyTokens (keepUndefined), where cdktf's resolve drops them: never merged.
    if (value === undefined) continue;
    if (typeof value !== "object" || value === null || Array.isArray(value) || Tokenization.isResolvable(value)) {
      util.deepMerge(target, { [key]: value });
      continue;
    }
    const existing = target[key];
    if (typeof existing !== "object") {
      const proto: unknown = Object.getPrototypeOf(value);
      if (share && (proto === Object.prototype || proto === null)) {
        target[key] = value;
      } else {
        const copy = {};
        owned.add(copy);
        target[key] = copy;
        util.deepMerge(copy, value);
      }
      continue;
    }
    if (existing === null || Array.isArray(existing) || Tokenization.isResolvable(existing)) {
      util.deepMerge(target, { [key]: withoutUndefined(value) });
      continue;
    }
    let into = existing as Record<string, unknown>;
    if (!owned.has(into)) {
      into = {};
      owned.add(into);
      util.deepMerge(into, existing);
      target[key] = into;
    }
    mergeShared(into, value as Record<string, unknown>, owned, share);
  }
}

/** An object as cdktf's resolve returns it: without the undefined values resolveOnlyTokens kept (keepUndefined) in its objects. */
function withoutUndefined(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = withoutUndefined(item);
  return out;
}

/**
 * cdktf's keysToSnakeCase (lib/util.js), step for step, with each key's snake case from `snake`
 * (cdktf's snakeCase, remembered).
 */
function keysToSnakeCaseOnce(object: unknown, snake: (key: string) => string): unknown {
  if (Tokenization.isResolvable(object)) return object;
  if (Array.isArray(object)) return object.map((e) => (typeof e === "object" ? keysToSnakeCaseOnce(e, snake) : e));
  const record = object as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    if (key === "tags" || key === "environment") {
      result[key] = record[key];
      continue;
    }
    let value = record[key];
    if (typeof value === "object") value = keysToSnakeCaseOnce(value, snake);
    if (Array.isArray(value)) value = value.map((e) => (typeof e === "object" ? keysToSnakeCaseOnce(e, snake) : e));
    result[snake(key)] = value;
  }
  return result;
}

/**
 * cdktf's processDynamicAttributes (lib/util.js): a copy of the attributes with every dynamic
 * block moved under "dynamic", plain objects (constructor Object) copied the same way, anything
 * else kept as it is.
 */
function copyDynamicAttributes(attributes: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const name of Object.keys(attributes)) {
    const value = attributes[name];
    if (value !== null && typeof value === "object" && DYNAMIC_BLOCK in value) {
      if (!result.dynamic) result.dynamic = {};
      (result.dynamic as Record<string, unknown>)[name] = (value as unknown as { toTerraformDynamicBlockJson: () => unknown }).toTerraformDynamicBlockJson();
    } else {
      result[name] = value !== null && typeof value === "object" && value.constructor === Object ? copyDynamicAttributes(value as Record<string, unknown>) : value;
    }
  }
  return result;
}

/** cdktf's mark of a dynamic block (lib/terraform-dynamic-block.js). */
const DYNAMIC_BLOCK = Symbol.for("cdktf/TerraformDynamicBlock");

/** cdktf's NUMBER_TOKEN_REGEX (lib/tokens/private/encoding.js): a number token inside a string. */
export const NUMBER_TOKEN = /[-|\d|.+]+(e[-|\d|.|e|E|+]+)/;

/** A character of NUMBER_TOKEN's first class, [-|\d|.+]. */
const NUMBER_BEFORE = new Uint8Array(128).map((_, c) => Number(/[-|\d|.+]/.test(String.fromCharCode(c))));
/** A character of NUMBER_TOKEN's second class, [-|\d|.|e|E|+]. */
const NUMBER_AFTER = new Uint8Array(128).map((_, c) => Number(/[-|\d|.|e|E|+]/.test(String.fromCharCode(c))));

/**
 * NUMBER_TOKEN.test(value), without running the expression at every character: it matches
 * exactly where an "e" has a character of its first class before it and one of its second after
 * it (each class needs one character, and may take more). A test of fast-synth.test.ts holds it
 * to the expression.
 */
export function holdsNumberToken(value: string): boolean {
  for (let at = value.indexOf("e", 1); at !== -1 && at + 1 < value.length; at = value.indexOf("e", at + 1)) {
    if (NUMBER_BEFORE[value.charCodeAt(at - 1)] === 1 && NUMBER_AFTER[value.charCodeAt(at + 1)] === 1) return true;
  }
  return false;
}

/** A value that is, or may be, a token: handed to cdktf's resolve as a whole. */
export const isTokenString = (value: string) => value.includes("TfToken[") || holdsNumberToken(value);
export const isTokenNumber = (value: number) => !(Number.isFinite(value) && Math.abs(value) < 1e200);

/**
 * What cdktf's resolve returns, with only the token-bearing parts handed to it: plain data (plain
 * objects, arrays, strings and numbers without token markers) is returned as it is, the very same
 * object, where resolve would return a copy of it, and copied only where something below it
 * changes (a token resolved, an undefined value dropped, as resolve drops them; keys kept in
 * order). Anything that is, or may be, a token (a marker in a string, a token number, a list or
 * map token, an object with a resolve method or a class instance) goes to cdktf as it is, so its
 * resolution is cdktf's own. The byte-identity test of fast-synth.test.ts is the gate.
 *
 * Sharing instead of copying is safe because what is resolved here is new: each element's
 * toTerraform() builds its JSON afresh (and the aspect of constructs/terraform-text.ts copies it
 * again), and the stack merges it into its document, which copies objects and replaces arrays.
 */
function resolveOnlyTokens(value: unknown, resolve: (part: unknown) => unknown, keepUndefined = false): unknown {
  switch (typeof value) {
    case "string":
      return isTokenString(value) ? resolve(value) : value;
    case "number":
      return isTokenNumber(value) ? resolve(value) : value;
    case "object": {
      if (value === null) return null;
      if (Array.isArray(value)) {
        for (const v of value) {
          if ((typeof v === "number" && isTokenNumber(v)) || (typeof v === "string" && v.includes("TfToken["))) return resolve(value);
        }
        let out: unknown[] | undefined;
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          const resolved = resolveOnlyTokens(item, resolve, keepUndefined);
          if (out) {
            if (resolved !== undefined) out.push(resolved);
          } else if (resolved !== item || resolved === undefined) {
            out = value.slice(0, i);
            if (resolved !== undefined) out.push(resolved);
          }
        }
        return out ?? value;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if ((proto !== Object.prototype && proto !== null) || typeof (value as { resolve?: unknown }).resolve === "function") return resolve(value);
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      for (const key of keys) if (isTokenString(key)) return resolve(value);
      let out: Record<string, unknown> | undefined;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const item = record[key];
        const resolved = resolveOnlyTokens(item, resolve, keepUndefined);
        if (out) {
          if (resolved !== undefined || keepUndefined) out[key] = resolved;
        } else if (resolved !== item || (resolved === undefined && !keepUndefined)) {
          out = {};
          for (let j = 0; j < i; j++) out[keys[j]!] = record[keys[j]!];
          if (resolved !== undefined) out[key] = resolved;
        }
      }
      return out ?? value;
    }
    case "undefined":
    case "boolean":
      return value;
    default:
      return resolve(value);
  }
}

/** The text json-stable-stringify writes for a value that has some: not undefined, a function or a symbol. */
const present = (value: unknown) => value !== undefined && typeof value !== "function" && typeof value !== "symbol";

/** A value as json-stable-stringify sees it: what its toJSON() returns, if it has one. */
const toJson = (value: unknown): unknown =>
  value && typeof (value as { toJSON?: unknown }).toJSON === "function" ? (value as { toJSON: () => unknown }).toJSON() : value;

/**
 * Writes `value` to `file` as cdktf's stack synthesizer does, `stringify(value, { space: 2 })` of
 * json-stable-stringify 1.x, byte for byte: keys sorted (Array.prototype.sort, by UTF-16 code
 * units), two spaces of indent, an empty array or object still opened and closed on two lines,
 * undefined (and functions) left out of objects and null in arrays, toJSON() honoured, a cycle an
 * error. The text is written in pieces of about a megabyte as it is made, never held whole (a
 * stack of 10000 VMs is 44 MB of it).
 *
 * The top of the document (block kinds, resource types, names) is walked here, as
 * json-stable-stringify walks it; each block below (a resource's arguments, an output) is written
 * by V8's JSON.stringify, which costs a fraction of the walk: of a copy with its keys in sorted
 * order, each empty array or object replaced by a marker string that the text then gets back in
 * json-stable-stringify's form. Where that cannot give the same bytes (a key that is an array
 * index, which JSON.stringify puts first; a marker's text in the data itself), the block is walked
 * too.
 */
export function writeStableJson(file: string, value: unknown): void {
  const fd = openSync(file, "w");
  try {
    let parts: string[] = [];
    let size = 0;
    const flush = () => {
      const bytes = Buffer.from(parts.join(""), "utf8");
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written);
      parts = [];
      size = 0;
    };
    stableJsonParts(value, (part) => {
      parts.push(part);
      size += part.length;
      if (size > 1 << 20) flush();
    });
    flush();
  } finally {
    closeSync(fd);
  }
}

/** writeStableJson's text, whole. */
export function stableJson(value: unknown): string {
  const parts: string[] = [];
  stableJsonParts(value, (part) => parts.push(part));
  return parts.join("");
}

/**
 * The mark of a block made in the writer's order (constructs/plain-resource.ts): keys sorted all the
 * way down, nothing but plain objects, arrays, strings, finite numbers, booleans and null, no
 * cycle; its value is the number of empty arrays and objects in it. A symbol key: JSON.stringify,
 * Object.keys and every copy leave it out.
 */
export const ORDERED_BLOCK = Symbol("pve-dualnet: a block in the writer's order, with this many empty arrays and objects");

/**
 * json-stable-stringify's text of a block made in the writer's order: JSON.stringify's, with each
 * empty array or object opened and closed on two lines, at the indent of its line. A JSON string
 * never holds a line break and always ends in a quote, so a `[]` or `{}` followed by the end of
 * its line (or a comma and the end of the line, or the end of the text) is an empty array or
 * object; undefined unless exactly `empties` are found (the block is then written as any other).
 * Primitives with a toJSON of their own (which json-stable-stringify would call) are left to the
 * general way too.
 */
function orderedBlockText(node: object, empties: number, level: number): string | undefined {
  if ("toJSON" in String.prototype || "toJSON" in Number.prototype || "toJSON" in Boolean.prototype) return undefined;
  // Stringified inside `level` objects of one key, so JSON.stringify indents it as it stands in the document.
  const [before, after] = (nestings[level] ??= nesting(level));
  let nested: unknown = node;
  for (let i = 0; i < level; i++) nested = { k: nested };
  const whole = JSON.stringify(nested, null, 2);
  const text = whole.slice(before, whole.length - after);
  if (!empties) return text;
  const lineEnd = (at: number) => at >= text.length || text.charCodeAt(at) === 10;
  const parts: string[] = [];
  let last = 0;
  let found = 0;
  let array = text.indexOf("[]");
  let object = text.indexOf("{}");
  while (array !== -1 || object !== -1) {
    const at = object === -1 || (array !== -1 && array < object) ? array : object;
    if (at === array) array = text.indexOf("[]", at + 2);
    else object = text.indexOf("{}", at + 2);
    if (!(lineEnd(at + 2) || (text.charCodeAt(at + 2) === 44 && lineEnd(at + 3)))) continue;
    const lineStart = text.lastIndexOf("\n", at) + 1;
    let indentEnd = lineStart;
    while (text.charCodeAt(indentEnd) === 32) indentEnd++;
    parts.push(text.slice(last, at + 1), "\n", text.slice(lineStart, indentEnd));
    last = at + 1;
    found++;
  }
  parts.push(text.slice(last));
  return found === empties ? parts.join("") : undefined;
}

/** The lengths of the text JSON.stringify writes before and after a value nested in `level` objects of one key. */
const nestings: [number, number][] = [];
function nesting(level: number): [number, number] {
  let nested: unknown = 0;
  for (let i = 0; i < level; i++) nested = { k: nested };
  const text = JSON.stringify(nested, null, 2);
  const at = text.indexOf("0");
  return [at, text.length - at - 1];
}

/** The depth from which a block is written by JSON.stringify: a resource's arguments (resource, type, name, arguments). */
const BLOCK_LEVEL = 3;

/** An array index as a key: JavaScript orders such keys before all others, whatever their insertion. */
const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

/** Thrown where a copy for JSON.stringify cannot keep json-stable-stringify's order. */
const UNORDERED = new Error("an array index as a key");

/** The text of writeStableJson, in order, to `out`. */
function stableJsonParts(value: unknown, out: (part: string) => void): void {
  const indents = ["\n"];
  const indent = (level: number): string => (indents[level] ??= indent(level - 1) + "  ");
  const ancestors: object[] = [];
  const write = (node: unknown, level: number): void => {
    if (typeof node !== "object" || node === null) {
      out(JSON.stringify(node));
      return;
    }
    if (level >= BLOCK_LEVEL) {
      const empties = (node as { [ORDERED_BLOCK]?: number })[ORDERED_BLOCK];
      const ordered = empties === undefined ? undefined : orderedBlockText(node, empties, level);
      if (ordered !== undefined) {
        out(ordered);
        return;
      }
      const text = blockText(node, ancestors);
      if (text !== undefined) {
        out(level ? text.replaceAll("\n", indent(level)) : text);
        return;
      }
    }
    const inner = indent(level + 1);
    if (Array.isArray(node)) {
      out("[");
      for (let i = 0; i < node.length; i++) {
        out(i ? `,${inner}` : inner);
        const item = toJson(node[i]);
        if (present(item)) write(item, level + 1);
        else out("null");
      }
      out(`${indent(level)}]`);
      return;
    }
    if (ancestors.includes(node)) throw new TypeError("Converting circular structure to JSON");
    ancestors.push(node);
    const record = node as Record<string, unknown>;
    let separator = inner;
    out("{");
    for (const key of Object.keys(record).sort()) {
      const item = toJson(record[key]);
      if (!present(item)) continue;
      out(`${separator}${JSON.stringify(key)}: `);
      separator = `,${inner}`;
      write(item, level + 1);
    }
    out(`${indent(level)}}`);
    ancestors.pop();
  };
  const top = toJson(value);
  if (!present(top)) throw new TypeError("no JSON to write");
  write(top, 0);
}

/**
 * json-stable-stringify's text of an array or object at the top level (indented from column 0),
 * by JSON.stringify; undefined where JSON.stringify cannot give it (see writeStableJson).
 */
function blockText(node: object, ancestors: object[]): string | undefined {
  const marker = `pve-dualnet-empty-${Math.random().toString(36).slice(2)}-`;
  const emptyArray = `${marker}[`;
  const emptyObject = `${marker}{`;
  let markers = 0;
  const seen = [...ancestors];
  // Primitives' toJSON, which json-stable-stringify would call and JSON.stringify never does: only if someone defined one.
  const primitivesPlain = !("toJSON" in String.prototype) && !("toJSON" in Number.prototype) && !("toJSON" in Boolean.prototype);
  /**
   * What JSON.stringify writes as json-stable-stringify writes `item`: `item` itself where it
   * already is so (keys in sorted order, no empty array or object, no toJSON of its own below),
   * else a copy that is, sharing what below it already is. Undefined values and functions may
   * stay in objects: JSON.stringify leaves them out as json-stable-stringify does.
   */
  const sorted = (item: unknown): unknown => {
    if (typeof item !== "object" || item === null) return item;
    if (Array.isArray(item)) {
      if (item.length === 0) {
        markers++;
        return emptyArray;
      }
      let copy: unknown[] | undefined;
      for (let i = 0; i < item.length; i++) {
        const element: unknown = item[i];
        const json = primitivesPlain && typeof element !== "object" ? element : toJson(element);
        const value = present(json) ? sorted(json) : null;
        if (copy) copy.push(value);
        else if (value !== element) (copy = item.slice(0, i)).push(value);
      }
      return copy ?? item;
    }
    if (seen.includes(item)) throw new TypeError("Converting circular structure to JSON");
    seen.push(item);
    const record = item as Record<string, unknown>;
    let keys = Object.keys(record);
    let inOrder = true;
    for (let i = 1; i < keys.length; i++) {
      if (keys[i - 1]! > keys[i]!) {
        inOrder = false;
        break;
      }
    }
    if (!inOrder) {
      keys = keys.sort();
      // A copy puts array indices first, whatever the order they are added in.
      for (const key of keys) {
        const first = key.charCodeAt(0);
        if (first >= 48 && first <= 57 && INDEX_KEY.test(key)) throw UNORDERED;
      }
    }
    let copy: Record<string, unknown> | undefined = inOrder ? undefined : {};
    let empty = true;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const value = record[key];
      const json = primitivesPlain && typeof value !== "object" && typeof value !== "function" ? value : toJson(value);
      if (!present(json)) {
        if (!copy && json !== value) {
          copy = {};
          for (let j = 0; j < i; j++) copy[keys[j]!] = record[keys[j]!];
        }
        continue;
      }
      empty = false;
      const prepared = sorted(json);
      if (copy) copy[key] = prepared;
      else if (prepared !== value) {
        copy = {};
        for (let j = 0; j < i; j++) copy[keys[j]!] = record[keys[j]!];
        copy[key] = prepared;
      }
    }
    seen.pop();
    if (!empty) return copy ?? record;
    markers++;
    return emptyObject;
  };
  let copy: unknown;
  try {
    copy = sorted(node);
  } catch (err) {
    if (err === UNORDERED) return undefined;
    throw err;
  }
  const text = JSON.stringify(copy, null, 2);
  if (!markers) return text;
  // A marker is a whole value on a line of its own ("<indent><key>: <marker>" or "<indent><marker>"),
  // and json-stable-stringify closes the empty array or object on the next line, at that indent.
  const quoted = `"${marker}`;
  const parts: string[] = [];
  let found = 0;
  let last = 0;
  for (let at = text.indexOf(quoted); at !== -1; at = text.indexOf(quoted, last)) {
    const bracket = text.slice(at + quoted.length, at + quoted.length + 2);
    if (bracket !== '["' && bracket !== '{"') return undefined;
    const lineStart = text.lastIndexOf("\n", at) + 1;
    let indentEnd = lineStart;
    while (text.charCodeAt(indentEnd) === 32) indentEnd++;
    parts.push(text.slice(last, at), bracket[0]!, "\n", text.slice(lineStart, indentEnd), bracket[0] === "[" ? "]" : "}");
    last = at + quoted.length + 2;
    found++;
  }
  parts.push(text.slice(last));
  return found === markers ? parts.join("") : undefined;
}
