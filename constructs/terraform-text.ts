/**
 * The one writer of Terraform strings: every literal the app puts into a stack is data.
 *
 * Terraform reads `${` and `%{` in a JSON string as interpolation and template directives wherever
 * it expects an expression (resource and provider arguments, provisioner commands, connection
 * settings, output values, locals), and a literal there must be escaped (`$${`, `%%{`). Variable
 * blocks and the `terraform` block (the backend) take literal values, which Terraform never
 * interpolates: they are written as they are. The only `${...}` left unescaped are the references
 * cdktf makes from tokens (a variable, another resource's attribute, a function call): an aspect on
 * every pve-dualnet stack rewrites each element's JSON before cdktf resolves its tokens, so a
 * construct cannot forget to escape a value, and a new one is safe as it is written.
 */
import { createHash } from "node:crypto";
import { TerraformElement, type IAspect } from "cdktf";
import type { IConstruct } from "constructs";

/** A literal for an expression context: Terraform reads it back as the text itself. */
export function escapeTemplate(text: string): string {
  // A function, not a replacement string: in those, "$$" itself means one "$".
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/** What Terraform makes of an escaped literal: the text itself (for tests that read synthesized JSON). */
export function unescapeTemplate(text: string): string {
  return text.replace(/\$\$\{/g, () => "${").replace(/%%\{/g, () => "%{");
}

/** cdktf's in-band marker of a string token (cdktf 0.21, lib/tokens/private/encoding.js). */
const STRING_TOKEN = /\$\{TfToken\[[a-zA-Z0-9:._-]+\]\}/g;

/**
 * A string with its literal fragments escaped and cdktf's token markers left for cdktf to resolve:
 * what the aspect below does to every string (and key) of a resource. Exported for elements that
 * write their JSON already escaped (constructs/plain-resource.ts, the fast synth's own resources).
 */
export function escapeLiterals(text: string): string {
  if (!text.includes("{")) return text; // most strings: nothing to escape, no token
  let out = "";
  let last = 0;
  for (const marker of text.matchAll(STRING_TOKEN)) {
    out += escapeTemplate(text.slice(last, marker.index)) + marker[0];
    last = marker.index + marker[0].length;
  }
  return out + escapeTemplate(text.slice(last));
}

/**
 * Every string and key below `value` escaped, except cdktf's own metadata ("//"), which Terraform
 * ignores. What has nothing to escape is returned as it is, the same object (most of a stack):
 * an array or object is copied only where something below it changes.
 */
function escapeAll(value: unknown): unknown {
  if (typeof value === "string") return escapeLiterals(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const escaped = escapeAll(value[i]);
      if (out) out.push(escaped);
      else if (escaped !== value[i]) (out = value.slice(0, i)).push(escaped);
    }
    return out ?? value;
  }
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    let out: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const escapedKey = key === "//" ? key : escapeLiterals(key);
      const escaped = key === "//" ? record[key] : escapeAll(record[key]);
      if (!out && (escapedKey !== key || escaped !== record[key])) {
        out = {};
        for (let j = 0; j < i; j++) out[keys[j]!] = record[keys[j]!];
      }
      if (out) out[escapedKey] = escaped;
    }
    return out ?? value;
  }
  // Tokens that are objects (references, functions) resolve to Terraform's own syntax.
  return value;
}

/** One element's JSON, escaped where Terraform interpolates: by the block kinds at its top level. */
export function escapeElement(json: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(json).map(([kind, blocks]) => {
      switch (kind) {
        case "variable": // default, description, type: literal values
        case "terraform": // backend and cloud settings: literal values
        case "//":
          return [kind, blocks];
        case "output": // only the value is an expression; the description is literal
          return [
            kind,
            Object.fromEntries(Object.entries(blocks as Record<string, Record<string, unknown>>).map(([name, output]) => [name, { ...output, ...("value" in output ? { value: escapeAll(output.value) } : {}) }])),
          ];
        default: // resource, data, provider, locals, module: expressions throughout
          return [kind, escapeAll(blocks)];
      }
    }),
  );
}

const escaped = new WeakSet<TerraformElement>();

/**
 * The mark of an element whose JSON has escapeLiterals applied to every string and key already
 * (constructs/plain-resource.ts): the aspect leaves it as it is.
 */
export const ESCAPES_OWN_LITERALS = Symbol("pve-dualnet: escapes its own literals");

/**
 * The aspect that makes every literal of a stack data (see the top of this file). cdktf calls an
 * element's toTerraform() to build the stack's JSON and then resolves its tokens; the aspect
 * escapes the literals of that JSON in between.
 */
export class TerraformLiterals implements IAspect {
  visit(node: IConstruct): void {
    if (!TerraformElement.isTerraformElement(node) || ESCAPES_OWN_LITERALS in node || escaped.has(node)) return;
    escaped.add(node);
    const toTerraform = node.toTerraform.bind(node);
    node.toTerraform = () => escapeElement(toTerraform());
  }
}

/** Hex sha256 of the text as it lands on disk: the trigger that reruns an apply only on change. */
export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
