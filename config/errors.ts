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
  readonly source: string;
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[]) {
    const shown = issues.map((i) => ({ path: visible(i.path), message: visible(i.message), ...(i.fix !== undefined ? { fix: visible(i.fix) } : {}) }));
    super(formatIssues(visible(source), shown));
    this.source = visible(source);
    this.issues = shown;
    this.name = "ConfigError";
  }
}

/**
 * Text as a terminal shows it, without acting on it: control and format characters (escape
 * sequences, bidirectional overrides, line separators) become `<U+001B>`. Messages quote values
 * and parser errors, and a value's escape sequence would otherwise rewrite the operator's screen.
 */
export function visible(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (char) => `<U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}>`);
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
