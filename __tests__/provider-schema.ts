/** The pinned bpg/proxmox schema, and a checker of synthesized resources against it. */
import { readFileSync } from "node:fs";
import * as path from "node:path";

const SCHEMA_FILE = path.join(__dirname, "..", "schemas", "proxmox@%3D%200.111.1.json");
export const proxmoxSchema = JSON.parse(readFileSync(SCHEMA_FILE, "utf8")).provider_schemas["registry.terraform.io/bpg/proxmox"];

const META = new Set(["//", "lifecycle", "depends_on", "count", "for_each", "provider", "connection", "provisioner"]);

function typeMatches(type: unknown, value: unknown): boolean {
  if (typeof value === "string" && value.startsWith("${")) return true; // a reference, typed by Terraform
  if (type === "string") return typeof value === "string";
  if (type === "number") return typeof value === "number";
  if (type === "bool") return typeof value === "boolean";
  if (Array.isArray(type) && (type[0] === "list" || type[0] === "set")) return Array.isArray(value) && value.every((v) => typeMatches(type[1], v));
  if (Array.isArray(type) && type[0] === "map") return typeof value === "object" && value !== null && Object.values(value).every((v) => typeMatches(type[1], v));
  return false;
}

/** Every problem of `body` against a schema block: unknown, deprecated, computed-only or mistyped attributes, missing required ones, too many blocks. */
export function schemaProblems(block: any, body: Record<string, unknown>, where: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (META.has(key)) continue;
    const attr = block.attributes?.[key];
    const nested = block.block_types?.[key];
    if (attr) {
      if (attr.deprecated) problems.push(`${where}.${key} is deprecated`);
      if (!attr.optional && !attr.required) problems.push(`${where}.${key} is computed-only`);
      if (!typeMatches(attr.type, value)) problems.push(`${where}.${key}: ${JSON.stringify(value)} is not ${JSON.stringify(attr.type)}`);
    } else if (nested) {
      if (nested.block.deprecated) problems.push(`${where}.${key} is deprecated`);
      const items = Array.isArray(value) ? value : [value];
      if (nested.max_items !== undefined && items.length > nested.max_items) problems.push(`${where}.${key} has ${items.length} blocks, at most ${nested.max_items}`);
      items.forEach((item, i) => problems.push(...schemaProblems(nested.block, item as Record<string, unknown>, `${where}.${key}[${i}]`)));
    } else {
      problems.push(`${where}.${key} does not exist`);
    }
  }
  for (const [key, attr] of Object.entries<any>(block.attributes ?? {})) {
    if (attr.required && !(key in body)) problems.push(`${where}.${key} is required`);
  }
  for (const [key, nested] of Object.entries<any>(block.block_types ?? {})) {
    if (nested.min_items && !(key in body)) problems.push(`${where}.${key} is required`);
  }
  return problems;
}

/** Checks every bpg/proxmox resource and the provider block of a synthesized stack. */
export function proxmoxProblems(stack: any): string[] {
  const problems: string[] = [];
  for (const [type, resources] of Object.entries<any>(stack.resource ?? {})) {
    if (!type.startsWith("proxmox_")) continue;
    const schema = proxmoxSchema.resource_schemas[type];
    if (!schema) {
      problems.push(`${type} is not in the pinned schema`);
      continue;
    }
    for (const [name, body] of Object.entries<any>(resources)) problems.push(...schemaProblems(schema.block, body, `${type}.${name}`));
  }
  for (const provider of stack.provider?.proxmox ?? []) problems.push(...schemaProblems(proxmoxSchema.provider.block, provider, "provider.proxmox"));
  return problems;
}
