/** Real tools from Debian packages that judge rendered artifacts (installed by .ci/run). */
import { spawn, spawnSync } from "node:child_process";

/**
 * Whether `command` is on PATH. CI installs every judge, so there a missing one is an error
 * naming the package; on a developer machine without it the checks are skipped.
 */
export function hasTool(command: string, debianPackage: string): boolean {
  const found = spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
  if (!found && process.env.CI) throw new Error(`CI must run the ${command} checks: apt-get install ${debianPackage} (see .ci/run)`);
  return found;
}

export interface ToolResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool without blocking the test process, so independent checks overlap. */
export function runTool(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<ToolResult> {
  return new Promise((resolve) => {
    const input = options.input;
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    if (input !== undefined) {
      // A tool may exit before reading all of its input; that is its answer, not an error here.
      child.stdin!.on("error", () => {});
      child.stdin!.end(input);
    }
  });
}
