/** The provider schema pve-dualnet pins (schemas/), and the reference it must agree with. */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";

const root = path.join(__dirname, "..", "..");
export const PROXMOX_ADDRESS = "registry.terraform.io/bpg/proxmox";
/** What `cdktf get` generates .gen/ from (scripts/bindings.sh). */
export const PROXMOX_SCHEMA = path.join(root, "schemas", "proxmox@%3D%200.111.1.json");
/**
 * bpg/proxmox's schema at tag v0.111.1, derived from its Go source (see its SCHEMA.md): the team's
 * shared reference, beside the checkout (`shared/reference/…` in the checkout's directory or any
 * above it), on the team's machines (/work/shared), or where PVE_DUALNET_REFERENCE_SCHEMA points.
 */
const REFERENCE_RELATIVE = path.join("shared", "reference", "bpg-proxmox-v0.111.1", "schema.json");

export function findReferenceSchema(): string | undefined {
  if (process.env.PVE_DUALNET_REFERENCE_SCHEMA) return process.env.PVE_DUALNET_REFERENCE_SCHEMA;
  for (let dir = path.dirname(root); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, REFERENCE_RELATIVE);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  const teamCopy = path.join("/work", REFERENCE_RELATIVE);
  return existsSync(teamCopy) ? teamCopy : undefined;
}

export const proxmoxSchema = () => JSON.parse(readFileSync(PROXMOX_SCHEMA, "utf8")).provider_schemas[PROXMOX_ADDRESS];

/** The reference schema, or undefined where it is not available (the comparison is then skipped, loudly). */
export function referenceSchema(): any {
  const file = findReferenceSchema();
  if (!file || !existsSync(file)) {
    console.warn(`bpg/proxmox reference schema not found (${REFERENCE_RELATIVE} beside or above the checkout, or PVE_DUALNET_REFERENCE_SCHEMA): schemas/ is not compared with it`);
    return undefined;
  }
  return JSON.parse(readFileSync(file, "utf8")).provider_schemas[PROXMOX_ADDRESS];
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
