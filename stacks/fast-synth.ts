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
  tokens.resolve = (scope, obj, preparing) => (fast && isResolvedStackDocument(scope, obj) ? obj : resolve(scope, obj, preparing));
}
