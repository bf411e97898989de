import * as path from "node:path";

/**
 * Terraform runs each stack in cdktf.out/stacks/<stack>; a directory given relative to the
 * project must be written relative to that working directory. Kept relative (not absolute)
 * so the synthesized JSON is the same on every machine.
 */
export function outputDirectory(directory: string): string {
  return path.isAbsolute(directory) ? directory : path.posix.join("../../..", directory.split(path.sep).join("/"));
}
