/**
 * Two things cdktf does for every app that pve-dualnet's stacks never need, and that cost most
 * of a large synth (measured by `npm run bench`; the output is byte-identical either way):
 *
 * - it records a complete stack trace, at unlimited depth, for every token it creates (so that
 *   an error resolving one can say where it was made); the generated VM binding creates dozens
 *   per VM, and every token is resolved, so no trace is ever read;
 * - before writing, it resolves every stack once in full only to discover references from one
 *   stack to another; pve-dualnet's stacks share nothing (each derives what it needs from the
 *   description), and Terraform's validate, run on every stack by the tests, rejects a stack
 *   that would refer to another's resource.
 *
 * `PVE_DUALNET_STOCK_SYNTH=1` restores cdktf's own behaviour for both, to debug a cdktf error.
 */
export const STOCK_SYNTH_ENV = "PVE_DUALNET_STOCK_SYNTH";

interface StackTraceModule {
  captureStackTrace: (below?: unknown) => string[];
}

let fast = false;

/** Whether this process synthesizes without cdktf's creation stacks and preparation pass. */
export const fastSynth = () => fast;

/** Turns the fast synth on for this process, unless the environment asks for cdktf's own. */
export function useFastSynth(env: NodeJS.ProcessEnv): void {
  fast = env[STOCK_SYNTH_ENV] !== "1";
  if (!fast) return;
  // cdktf calls the function through this module's exports at each use, so replacing the export
  // reaches every caller. A deep require: cdktf has no option for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require("cdktf/lib/tokens/private/stack-trace") as StackTraceModule;
  module.captureStackTrace = () => [];
}
