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
 * - it writes a stack's JSON with json-stable-stringify, which holds the whole text and an array
 *   of strings at every level in memory (writeStableJson writes the same bytes in pieces).
 *
 * `PVE_DUALNET_STOCK_SYNTH=1` restores cdktf's own behaviour for all of them, to debug a cdktf error.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import * as path from "node:path";

export const STOCK_SYNTH_ENV = "PVE_DUALNET_STOCK_SYNTH";

interface StackTraceModule {
  captureStackTrace: (below?: unknown) => string[];
}

interface TokensModule {
  resolve: (scope: unknown, obj: unknown, preparing?: boolean) => unknown;
}

interface SynthesizerModule {
  StackSynthesizer: { prototype: StackSynthesizer };
}

interface StackSynthesizer {
  stack: { toTerraform: () => unknown };
  hclOutput: boolean;
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
    const stack = this.stack;
    const own = Object.getOwnPropertyDescriptor(stack, "toTerraform");
    const toTerraform = stack.toTerraform;
    let document: unknown;
    stack.toTerraform = () => {
      document = toTerraform.call(stack);
      return {};
    };
    try {
      synthesize.call(this, session);
    } finally {
      if (own) Object.defineProperty(stack, "toTerraform", own);
      else delete (stack as { toTerraform?: unknown }).toTerraform;
    }
    writeStableJson(path.join(session.outdir, session.manifest.forStack(stack).synthesizedStackPath), document);
  };
}

/** cdktf's NUMBER_TOKEN_REGEX (lib/tokens/private/encoding.js): a number token inside a string. */
const NUMBER_TOKEN = /[-|\d|.+]+(e[-|\d|.|e|E|+]+)/;

/** A value that is, or may be, a token: handed to cdktf's resolve as a whole. */
const isTokenString = (value: string) => value.includes("TfToken[") || NUMBER_TOKEN.test(value);
const isTokenNumber = (value: number) => !(Number.isFinite(value) && Math.abs(value) < 1e200);

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
function resolveOnlyTokens(value: unknown, resolve: (part: unknown) => unknown): unknown {
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
          const resolved = resolveOnlyTokens(item, resolve);
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
        const resolved = resolveOnlyTokens(item, resolve);
        if (out) {
          if (resolved !== undefined) out[key] = resolved;
        } else if (resolved !== item || resolved === undefined) {
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
  const sorted = (item: unknown): unknown => {
    if (typeof item !== "object" || item === null) return item;
    if (Array.isArray(item)) {
      if (item.length === 0) {
        markers++;
        return emptyArray;
      }
      const copy: unknown[] = [];
      for (const element of item) {
        const json = toJson(element);
        copy.push(present(json) ? sorted(json) : null);
      }
      return copy;
    }
    if (seen.includes(item)) throw new TypeError("Converting circular structure to JSON");
    seen.push(item);
    const record = item as Record<string, unknown>;
    const copy: Record<string, unknown> = {};
    let empty = true;
    for (const key of Object.keys(record).sort()) {
      const first = key.charCodeAt(0);
      if (first >= 48 && first <= 57 && INDEX_KEY.test(key)) throw UNORDERED;
      const json = toJson(record[key]);
      if (!present(json)) continue;
      copy[key] = sorted(json);
      empty = false;
    }
    seen.pop();
    if (!empty) return copy;
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
