#!/usr/bin/env node
// A schema-only Terraform provider for offline tests: it serves a provider's real schema over
// plugin protocol 6 (gRPC on a unix socket) and otherwise stays out of the way, so that Terraform
// itself judges a configuration: types, required and unknown arguments, block counts.
//
//   node stub-provider.mjs <socket-dir> [--apply=<address>] [--cwd=<dir>] <address>=<schema.json> [...]
//
// Each schema file has the format of `terraform providers schema -json`. The program listens on
// one socket per provider and prints one line: the TF_REATTACH_PROVIDERS value (with "Test": true,
// so Terraform neither installs nor stops these providers). It exits when stdin closes.
//
// Behaviour: validation adds to Terraform's own schema checks only what providers themselves
// report from their schema: a warning for each deprecated argument, block or resource type that
// is set (as the plugin SDK does). Planning a create returns the proposed state with every
// computed attribute left null made unknown, as real providers do. Nothing is ever applied,
// except for a provider named by --apply: registry.terraform.io/hashicorp/local is then the
// real provider's stand-in (local-provider.mjs), which writes, reads and removes its files;
// relative paths resolve against --cwd (Terraform's working directory), else this process's.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { decode, encode, ExtensionCodec } from "@msgpack/msgpack";
import { readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { localProviderHandlers, localSchema } from "./local-provider.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const definition = protoLoader.loadSync(path.join(here, "tfplugin6-subset.proto"), { keepCase: true, longs: Number, enums: String, defaults: false });
const { tfplugin6 } = grpc.loadPackageDefinition(definition);

// ---------------------------------------------------------------------------
// Values: msgpack with Terraform's unknown-value extension
// ---------------------------------------------------------------------------

const UNKNOWN = Symbol("unknown");
const codec = new ExtensionCodec();
// Any extension code is an unknown value (protocol: code 0 plain, 12 refined); planning here
// re-encodes unknowns without refinements, which is always allowed.
for (let type = 1; type <= 127; type++) codec.register({ type, encode: () => null, decode: () => UNKNOWN });
codec.register({ type: 0, encode: (value) => (value === UNKNOWN ? new Uint8Array(0) : null), decode: () => UNKNOWN });

const decodeValue = (bytes) => decode(bytes, { extensionCodec: codec, useBigInt64: true });
const encodeValue = (value) => encode(value, { extensionCodec: codec, useBigInt64: true, ignoreUndefined: false });

/** Makes every computed attribute that the proposed state leaves null unknown, recursively. */
function markComputed(block, value) {
  if (value === null || value === UNKNOWN || typeof value !== "object") return value;
  for (const [name, attr] of Object.entries(block.attributes ?? {})) {
    if (!(name in value)) continue;
    if (value[name] === null && attr.computed) value[name] = UNKNOWN;
    else if (attr.nested_type) value[name] = markNested(attr.nested_type, value[name]);
  }
  for (const [name, nested] of Object.entries(block.block_types ?? {})) {
    const v = value[name];
    if (v === null || v === UNKNOWN || v === undefined) continue;
    if (Array.isArray(v)) value[name] = v.map((item) => markComputed(nested.block, item));
    else if (nested.nesting_mode === "map") for (const key of Object.keys(v)) v[key] = markComputed(nested.block, v[key]);
    else value[name] = markComputed(nested.block, v);
  }
  return value;
}

function markNested(nestedType, value) {
  if (value === null || value === UNKNOWN) return value;
  const inner = { attributes: nestedType.attributes };
  if (nestedType.nesting_mode === "single") return markComputed(inner, value);
  if (nestedType.nesting_mode === "map") {
    for (const key of Object.keys(value)) value[key] = markComputed(inner, value[key]);
    return value;
  }
  return value.map((item) => markComputed(inner, item));
}

/** Warnings for every deprecated argument or block the configuration sets. */
function deprecations(block, value, where = []) {
  if (value === null || value === UNKNOWN || typeof value !== "object") return [];
  const found = [];
  const warn = (path, what) =>
    found.push({ severity: "WARNING", summary: `${what} is deprecated`, detail: `${path.join(".")} is deprecated in the provider's schema; remove it from the configuration.` });
  for (const [name, attr] of Object.entries(block.attributes ?? {})) {
    if (value[name] !== null && value[name] !== undefined && attr.deprecated) warn([...where, name], "Argument");
  }
  for (const [name, nested] of Object.entries(block.block_types ?? {})) {
    const v = value[name];
    if (v === null || v === undefined || v === UNKNOWN) continue;
    const items = Array.isArray(v) ? v : nested.nesting_mode === "map" ? Object.values(v) : [v];
    if (nested.block.deprecated && items.length) warn([...where, name], "Block");
    items.forEach((item, i) => found.push(...deprecations(nested.block, item, [...where, `${name}[${i}]`])));
  }
  return found;
}

// ---------------------------------------------------------------------------
// Schemas: JSON (providers schema -json) -> protocol messages
// ---------------------------------------------------------------------------

const NESTING = { single: "SINGLE", list: "LIST", set: "SET", map: "MAP", group: "GROUP" };

function toAttribute(name, a) {
  return {
    name,
    ...(a.type !== undefined ? { type: Buffer.from(JSON.stringify(a.type)) } : {}),
    ...(a.nested_type
      ? { nested_type: { attributes: Object.entries(a.nested_type.attributes).map(([n, x]) => toAttribute(n, x)), nesting: NESTING[a.nested_type.nesting_mode] } }
      : {}),
    required: Boolean(a.required),
    optional: Boolean(a.optional),
    computed: Boolean(a.computed),
    sensitive: Boolean(a.sensitive),
    deprecated: Boolean(a.deprecated),
    write_only: Boolean(a.write_only),
  };
}

function toBlock(b) {
  return {
    attributes: Object.entries(b.attributes ?? {}).map(([n, a]) => toAttribute(n, a)),
    block_types: Object.entries(b.block_types ?? {}).map(([n, nb]) => ({
      type_name: n,
      block: toBlock(nb.block),
      nesting: NESTING[nb.nesting_mode],
      min_items: nb.min_items ?? 0,
      max_items: nb.max_items ?? 0,
    })),
    deprecated: Boolean(b.deprecated),
  };
}

const toSchema = (s) => ({ version: s.version ?? 0, block: toBlock(s.block) });

// ---------------------------------------------------------------------------
// One gRPC server per provider
// ---------------------------------------------------------------------------

/** Providers that can apply for real (--apply=<address>): their schema as served, and their resource RPCs. */
const APPLYING = {
  "registry.terraform.io/hashicorp/local": { schema: localSchema, handlers: localProviderHandlers },
};

function providerService(schema, applying, options) {
  const resources = schema.resource_schemas ?? {};
  const dataSources = schema.data_source_schemas ?? {};
  const response = {
    provider: toSchema(schema.provider),
    resource_schemas: Object.fromEntries(Object.entries(resources).map(([n, s]) => [n, toSchema(s)])),
    data_source_schemas: Object.fromEntries(Object.entries(dataSources).map(([n, s]) => [n, toSchema(s)])),
    diagnostics: [],
    server_capabilities: { plan_destroy: false, get_provider_schema_optional: false },
  };
  const ok = (reply) => (_call, callback) => callback(null, reply);
  const applied = applying ? applying.handlers(schema, { decodeValue, encodeValue, UNKNOWN }, options) : {};
  return {
    GetMetadata: ok({
      server_capabilities: response.server_capabilities,
      resources: Object.keys(resources).map((type_name) => ({ type_name })),
      data_sources: Object.keys(dataSources).map((type_name) => ({ type_name })),
    }),
    GetProviderSchema: ok(response),
    ValidateProviderConfig: ok({ diagnostics: [] }),
    ValidateResourceConfig: (call, callback) => {
      const { type_name, config } = call.request;
      const schema = resources[type_name];
      const diagnostics = config?.msgpack?.length ? deprecations(schema.block, decodeValue(config.msgpack)) : [];
      if (schema.block.deprecated) diagnostics.push({ severity: "WARNING", summary: "Deprecated resource", detail: `${type_name} is deprecated in the provider's schema.` });
      callback(null, { diagnostics });
    },
    ValidateDataResourceConfig: ok({ diagnostics: [] }),
    ConfigureProvider: ok({ diagnostics: [] }),
    StopProvider: ok({}),
    PlanResourceChange: (call, callback) => {
      const { type_name, proposed_new_state } = call.request;
      const bytes = proposed_new_state?.msgpack;
      if (!bytes || bytes.length === 0) return callback(null, { planned_state: proposed_new_state, diagnostics: [] });
      const planned = markComputed(resources[type_name].block, decodeValue(bytes));
      callback(null, { planned_state: { msgpack: Buffer.from(encodeValue(planned)) }, diagnostics: [] });
    },
    ...applied,
  };
}

/** Terraform asks for the (large) schema in every command: serialize it once per provider. */
function memoizedSchema(service) {
  const method = service.GetProviderSchema;
  let cached;
  const responseSerialize = (response) => {
    if (cached?.response !== response) cached = { response, bytes: method.responseSerialize(response) };
    return cached.bytes;
  };
  return { ...service, GetProviderSchema: { ...method, responseSerialize } };
}

async function main() {
  const [socketDir, ...args] = process.argv.slice(2);
  const apply = new Set(args.filter((a) => a.startsWith("--apply=")).map((a) => a.slice("--apply=".length)));
  const cwd = args.find((a) => a.startsWith("--cwd="))?.slice("--cwd=".length);
  const specs = args.filter((a) => !a.startsWith("--"));
  if (!socketDir || specs.length === 0 || [...apply].some((a) => !APPLYING[a])) {
    process.stderr.write(`usage: stub-provider.mjs <socket-dir> [--apply=<address>] [--cwd=<dir>] <address>=<schema.json> ...\n(--apply knows ${Object.keys(APPLYING).join(", ")})\n`);
    process.exit(2);
  }
  const reattach = {};
  const servers = [];
  for (const [i, spec] of specs.entries()) {
    const [address, file] = spec.split("=");
    const document = JSON.parse(readFileSync(file, "utf8"));
    const applying = apply.has(address) ? APPLYING[address] : undefined;
    const served = document.provider_schemas[address];
    if (!served) throw new Error(`${file} has no schema for ${address}`);
    const schema = applying ? applying.schema(served) : served;
    const socket = path.join(socketDir, `provider-${i}.sock`);
    rmSync(socket, { force: true });
    const server = new grpc.Server();
    server.addService(memoizedSchema(tfplugin6.Provider.service), providerService(schema, applying, { cwd: cwd ? path.resolve(cwd) : process.cwd() }));
    await new Promise((resolve, reject) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    servers.push(server);
    reattach[address] = { Protocol: "grpc", ProtocolVersion: 6, Pid: process.pid, Test: true, Addr: { Network: "unix", String: socket } };
  }
  process.stdout.write(JSON.stringify(reattach) + "\n");
  const stop = () => {
    for (const server of servers) server.forceShutdown();
    process.exit(0);
  };
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
  process.on("SIGTERM", stop);
}

main().catch((err) => {
  process.stderr.write(`stub provider: ${err.stack ?? err}\n`);
  process.exit(1);
});
