/**
 * The writers of what Ansible reads, each keeping the description's values data:
 *
 * - the INI inventory: Ansible splits a host line on blanks and quotes, and templates every
 *   variable when it is used, so a value is written only when it is a plain word that no reading
 *   can turn into more (no blank, quote, `=`, `#`, `{`, `%`); anything else is refused;
 * - variables files: YAML in which every string carries `!unsafe`, the tag ansible-core documents
 *   for values it must never template (a `{{ lookup('pipe', ...) }}` in a path stays a path);
 * - Jinja templates (the kubeadm and kube-vip files): the data in them is escaped so that Jinja
 *   prints it as it is (`{{ '{' }}` for a `{` that would open a tag), and only the expressions the
 *   renderer placed on purpose (`jinja(...)`) are evaluated.
 */
import { Document, stringify, visit } from "yaml";
import { RESERVED_INVENTORY_NAMES } from "../config/schema";

/** A word the INI inventory carries as it is. */
const INVENTORY_WORD = /^[A-Za-z0-9_.:/@+-]+$/;

/** One host line of an INI inventory; throws on a name or value that is not a plain word, and on a reserved name. */
export function inventoryHostLine(name: string, vars: Readonly<Record<string, string | number>>): string {
  if (RESERVED_INVENTORY_NAMES.has(name)) throw new Error(`refusing to name an inventory host ${JSON.stringify(name)}: Ansible reads that name as its own`);
  const words = [name, ...Object.entries(vars).map(([key, value]) => `${key}=${value}`)];
  for (const [i, word] of words.entries()) {
    const value = i === 0 ? word : word.slice(word.indexOf("=") + 1);
    if (!INVENTORY_WORD.test(value)) throw new Error(`refusing to write ${JSON.stringify(word)} into an INI inventory: only plain words are data there`);
  }
  return words.join(" ");
}

/** A variables file: YAML whose every string is `!unsafe`, so Ansible never templates it. */
export function ansibleVariables(header: string, vars: Readonly<Record<string, unknown>>): string {
  const doc = new Document(vars);
  visit(doc, {
    Scalar(key, node) {
      if (key !== "key" && typeof node.value === "string") node.tag = "!unsafe";
    },
  });
  return `${header}\n${doc.toString()}`;
}

/** A Jinja expression placed in a template on purpose: `jinja("inventory_hostname")`. */
export class JinjaExpression {
  constructor(readonly expression: string) {}
  /** As it stands in the template. */
  get text(): string {
    return `{{ ${this.expression} }}`;
  }
}
export const jinja = (expression: string) => new JinjaExpression(expression);

/** Data for a Jinja template: `{` that would open a tag, a statement or a comment is printed by Jinja instead. */
export const escapeJinja = (text: string) => text.replace(/\{(?=[{%#])/g, "{{ '{' }}");

/**
 * YAML documents as a Jinja template: every string is data, escaped for Jinja, except the
 * JinjaExpressions, which become `"{{ expression }}"`.
 */
export function jinjaTemplate(header: string, documents: readonly object[]): string {
  const expressions: JinjaExpression[] = [];
  // A placeholder holds control characters, which no value of the description can (config/text.ts):
  // YAML writes it as the double-quoted "\x01<n>\x01", and a data string in double quotes has its
  // own backslashes doubled, so the pattern below can only be a placeholder.
  const placeholders = (value: unknown): unknown => {
    if (value instanceof JinjaExpression) return `\u0001${expressions.push(value) - 1}\u0001`;
    if (Array.isArray(value)) return value.map(placeholders);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, placeholders(v)]));
    return value;
  };
  const yaml = documents.map((d) => stringify(placeholders(d))).join("---\n");
  return `${escapeJinja(header)}\n` + escapeJinja(yaml).replace(/"\\x01(\d+)\\x01"/g, (_, n: string) => `"${expressions[Number(n)]!.text}"`);
}
