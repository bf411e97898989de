/** Problems found in a cluster description, reported together. */

export interface ConfigIssue {
  /** Where, in the file's own terms: `vms[2].ip.internal`. */
  readonly path: string;
  /** What is wrong. */
  readonly message: string;
  /** What to do about it. */
  readonly fix?: string;
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(formatIssues(source, issues));
    this.name = "ConfigError";
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === "number") return `${out}[${key}]`;
    return out ? `${out}.${String(key)}` : String(key);
  }, "");
}

export function formatIssues(source: string, issues: readonly ConfigIssue[]): string {
  const plural = issues.length === 1 ? "problem" : "problems";
  const lines = issues.map((i) => `  - ${i.path || "(file)"}: ${i.message}${i.fix ? `\n      fix: ${i.fix}` : ""}`);
  return `${source}: ${issues.length} ${plural} in the cluster description\n${lines.join("\n")}`;
}
