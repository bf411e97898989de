/**
 * Three things cdktf does for every app that pve-dualnet's stacks never need, and that cost most
 * of a large synth (measured by `npm run bench`; the output is byte-identical either way):
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
 *   with overrides of its own, which nothing has resolved).
 *
 * `PVE_DUALNET_STOCK_SYNTH=1` restores cdktf's own behaviour for both, to debug a cdktf error.
 */
export const STOCK_SYNTH_ENV = "PVE_DUALNET_STOCK_SYNTH";

interface StackTraceModule {
  captureStackTrace: (below?: unknown) => string[];
}

interface TokensModule {
  resolve: (scope: unknown, obj: unknown, preparing?: boolean) => unknown;
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
}

/** cdktf's NUMBER_TOKEN_REGEX (lib/tokens/private/encoding.js): a number token inside a string. */
const NUMBER_TOKEN = /[-|\d|.+]+(e[-|\d|.|e|E|+]+)/;

/**
 * What cdktf's resolve returns, with only the token-bearing parts handed to it: plain data (plain
 * objects, arrays, strings and numbers without token markers) is copied as resolve would copy it
 * (undefined dropped, keys kept in order), which costs a fraction of resolve's walk with a context
 * per value. Anything that is, or may be, a token (a marker in a string, a token number, a list or
 * map token, an object with a resolve method or a class instance) goes to cdktf as it is, so its
 * resolution is cdktf's own. The byte-identity test of fast-synth.test.ts is the gate.
 */
function resolveOnlyTokens(value: unknown, resolve: (part: unknown) => unknown): unknown {
  switch (typeof value) {
    case "string":
      return value.includes("TfToken[") || NUMBER_TOKEN.test(value) ? resolve(value) : value;
    case "number":
      return Number.isFinite(value) && Math.abs(value) < 1e200 ? value : resolve(value);
    case "object": {
      if (value === null) return null;
      if (Array.isArray(value)) {
        if (value.some((v) => typeof v === "number" && !(Number.isFinite(v) && Math.abs(v) < 1e200))) return resolve(value);
        if (value.some((v) => typeof v === "string" && v.includes("TfToken["))) return resolve(value);
        const out: unknown[] = [];
        for (const item of value) {
          const resolved = resolveOnlyTokens(item, resolve);
          if (resolved !== undefined) out.push(resolved);
        }
        return out;
      }
      const proto = Object.getPrototypeOf(value);
      if ((proto !== Object.prototype && proto !== null) || typeof (value as { resolve?: unknown }).resolve === "function") return resolve(value);
      const keys = Object.keys(value);
      if (keys.some((key) => key.includes("TfToken[") || NUMBER_TOKEN.test(key))) return resolve(value);
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        const resolved = resolveOnlyTokens((value as Record<string, unknown>)[key], resolve);
        if (resolved !== undefined) out[key] = resolved;
      }
      return out;
    }
    case "undefined":
    case "boolean":
      return value;
    default:
      return resolve(value);
  }
}
