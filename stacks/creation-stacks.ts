/**
 * cdktf records a complete stack trace, at unlimited depth, for every token it creates (so that
 * an error resolving one can say where it was made); the generated VM binding creates dozens per
 * VM. pve-dualnet's stacks resolve every token they make, so those traces are never read: they
 * are skipped unless PVE_DUALNET_CREATION_STACKS=1 asks for them, to debug a cdktf error.
 */
export const CREATION_STACKS_ENV = "PVE_DUALNET_CREATION_STACKS";

interface StackTraceModule {
  captureStackTrace: (below?: unknown) => string[];
}

/** Turns cdktf's creation stacks off for this process, unless the environment asks for them. */
export function skipCreationStacks(env: NodeJS.ProcessEnv): void {
  if (env[CREATION_STACKS_ENV] === "1") return;
  // cdktf calls the function through this module's exports at each use, so replacing the export
  // reaches every caller. A deep require: cdktf has no option for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require("cdktf/lib/tokens/private/stack-trace") as StackTraceModule;
  module.captureStackTrace = () => [];
}
