/**
 * The config reference (docs/config-reference.md), generated from the JSON Schema of the cluster description
 * (itself generated from the zod schema), so the documentation cannot drift from the code.
 */
type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  prefixItems?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  description?: string;
  required?: string[];
};

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.prefixItems) return `[${s.prefixItems.map(typeOf).join(", ")}]`;
  if (s.type === "array" && s.items) return `list of ${typeOf(s.items)}`;
  if (s.oneOf || s.anyOf) return "one of the forms below";
  return Array.isArray(s.type) ? s.type.join(" \\| ") : (s.type ?? "any");
}

function rows(schema: JsonSchema, path: string, out: string[][]): void {
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const here = path ? `${path}.${key}` : key;
    const element = child.type === "array" && child.items ? child.items : undefined;
    const variants = (element ?? child).oneOf ?? (element ?? child).anyOf;
    out.push([`\`${here}\``, typeOf(child), (child.description ?? "").replace(/\|/g, "\\|")]);
    const base = element ? `${here}[]` : here;
    if (variants) {
      for (const variant of variants) {
        const tag = variant.properties?.kind?.const;
        rows(variant, tag !== undefined ? `${base.replace(/\[\]$/, "")}[kind=${tag}]` : base, out);
      }
    } else {
      rows(element ?? child, base, out);
    }
  }
}

export function renderConfigReference(jsonSchema: object): string {
  const out: string[][] = [];
  rows(jsonSchema as JsonSchema, "", out);
  return ["| field | type | meaning and default |", "|---|---|---|", ...out.map((r) => `| ${r.join(" | ")} |`)].join("\n") + "\n";
}
