/** Helpers for putting literal text into Terraform JSON. */
import { createHash } from "node:crypto";

/**
 * Terraform reads `${` and `%{` in any string as interpolation and template directives.
 * Rendered files are literal text, so escape them (`$${`, `%%{`); Terraform writes them back
 * unescaped.
 */
export function terraformLiteral(text: string): string {
  // A function, not a replacement string: in those, "$$" itself means one "$".
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/** What Terraform makes of a terraformLiteral: the text itself (for tests that read synthesized JSON). */
export function terraformUnescaped(text: string): string {
  return text.replace(/\$\$\{/g, () => "${").replace(/%%\{/g, () => "%{");
}

/** Hex sha256 of the text as it lands on disk: the trigger that reruns an apply only on change. */
export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
