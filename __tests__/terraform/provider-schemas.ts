/** The provider schema pve-dualnet pins (schemas/), and the reference it must agree with. */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

const root = path.join(__dirname, "..", "..");
export const PROXMOX_ADDRESS = "registry.terraform.io/bpg/proxmox";
/** What `cdktf get` generates .gen/ from (scripts/bindings.sh). */
export const PROXMOX_SCHEMA = path.join(root, "schemas", "proxmox@%3D%200.111.1.json");
/** bpg/proxmox's schema at tag v0.111.1, derived from its Go source (see its SCHEMA.md). */
export const REFERENCE_SCHEMA = path.join(root, "..", "shared", "reference", "bpg-proxmox-v0.111.1", "schema.json");

export const proxmoxSchema = () => JSON.parse(readFileSync(PROXMOX_SCHEMA, "utf8")).provider_schemas[PROXMOX_ADDRESS];

/** The reference schema, or undefined where ../shared is not checked out (CI always has it). */
export function referenceSchema(): any {
  if (!existsSync(REFERENCE_SCHEMA)) {
    if (process.env.CI) throw new Error(`CI must compare schemas/ with ${REFERENCE_SCHEMA}`);
    return undefined;
  }
  return JSON.parse(readFileSync(REFERENCE_SCHEMA, "utf8")).provider_schemas[PROXMOX_ADDRESS];
}

/** A schema without its descriptions (the reference omits them; schemas/ keeps the docs' text). */
export function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== "description" && k !== "description_kind")
        .map(([k, v]) => [k, withoutDescriptions(v)]),
    );
  }
  return value;
}
