// hashicorp/local v2.6.1 applying for real, inside the stub provider (stub-provider.mjs, with
// --apply=registry.terraform.io/hashicorp/local): local_file and local_sensitive_file are
// written, read back and removed as the real provider does, so `terraform apply` and
// `cdktf deploy` run end to end offline. Only these two resource types apply; the provider's
// data sources, function and action are not served (pve-dualnet uses none of them).
//
// Every behaviour here is the real provider's, read (never copied) from its source and from the
// plugin framework it is built on; the places are cited where they are used:
//   [local]      github.com/hashicorp/terraform-provider-local v2.6.1 (ba8eb9d12edf493cd3f77ac80a59f6c89b50d4fc):
//                internal/provider/resource_local_file.go, resource_local_sensitive_file.go,
//                provider.go (genFileChecksums), internal/localtypes/file_permission_type.go,
//                docs/resources/file.md, docs/resources/sensitive_file.md
//   [framework]  github.com/hashicorp/terraform-plugin-framework v1.16.1 (6d2ebde661a1cf102e183710901060f158da9b01),
//                the version v2.6.1's go.mod pins: internal/fwserver/server_planresourcechange.go,
//                server_upgraderesourcestate.go, server_applyresourcechange.go,
//                server_importresourcestate.go, attribute_validation.go,
//                resource/schema/stringplanmodifier/requires_replace_if.go
//   [validators] github.com/hashicorp/terraform-plugin-framework-validators v0.19.0 (25a1378536d4975c1f8676989788a38e141c5e2e):
//                internal/schemavalidator/exactly_one_of.go, helpers/validatordiag/diag.go
//
// Relative paths (filename, source) resolve against `cwd` (the stub's --cwd), else this
// process's working directory: a real provider inherits Terraform's, so `cwd` must be the
// directory Terraform runs in (a cdktf stack's directory; see ../local-provider.ts). It is
// resolved by name at every call, so a directory that `cdktf synth` removes and writes anew
// is still found.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/** What differs between the two resource types ([local]: each resource's Schema and Create). */
const RESOURCES = {
  local_file: {
    what: "local file",
    // parseLocalFileContent's order: the first set one is written.
    contents: ["sensitive_content", "content_base64", "source", "content"],
    // The ExactlyOneOf validators, each listing the other three (schema order: content first).
    exactlyOne: ["content", "sensitive_content", "content_base64", "source"],
    defaults: { file_permission: "0777", directory_permission: "0777" },
    sensitive: ["sensitive_content"],
    deprecated: { sensitive_content: "Use the `local_sensitive_file` resource instead" },
  },
  local_sensitive_file: {
    what: "local sensitive file",
    contents: ["content_base64", "source", "content"],
    exactlyOne: ["content", "content_base64", "source"],
    defaults: { file_permission: "0700", directory_permission: "0700" },
    sensitive: ["content", "content_base64"],
    deprecated: {},
  },
};
/** Attributes of the custom FilePermissionType, validated as octal modes. */
const PERMISSIONS = ["file_permission", "directory_permission"];
/** Computed-only attributes that Create fills ([local]: genFileChecksums; id is the SHA1). */
const CHECKSUMS = ["id", "content_md5", "content_sha1", "content_sha256", "content_base64sha256", "content_sha512", "content_base64sha512"];

/**
 * The schema as the real provider serves it: what the binding cannot record (sensitivity,
 * deprecation) added from [local]. Fails when the schema lacks what state must hold (it is
 * rebuilt with bindingSchema's computedOnly option).
 */
export function localSchema(providerSchema) {
  const schema = structuredClone(providerSchema);
  for (const [type, facts] of Object.entries(RESOURCES)) {
    const block = schema.resource_schemas?.[type]?.block;
    if (!block) continue;
    const missing = [...CHECKSUMS, ...PERMISSIONS, "filename", ...facts.exactlyOne].filter((a) => !block.attributes[a]);
    if (missing.length) throw new Error(`the ${type} schema lacks ${missing.join(", ")} (build it with computed-only attributes)`);
    for (const a of facts.sensitive) block.attributes[a].sensitive = true;
    for (const a of Object.keys(facts.deprecated)) block.attributes[a].deprecated = true;
  }
  return schema;
}

// ---------------------------------------------------------------------------
// Small pieces
// ---------------------------------------------------------------------------

const attributePath = (name) => ({ steps: [{ attribute_name: name }] });
const error = (summary, detail, attribute) => ({ severity: "ERROR", summary, detail, ...(attribute ? { attribute: attributePath(attribute) } : {}) });

/** Go's strconv.ParseInt(s, 8, 64): an optional sign, then octal digits; NaN when it fails. */
function parseOctal(s) {
  const m = /^([+-]?)([0-7]+)$/.exec(s);
  if (!m) return NaN;
  const n = parseInt(m[2], 8);
  return m[1] === "-" ? -n : n;
}

/** Go's base64.StdEncoding.DecodeString: padded standard alphabet; CR and LF are skipped. */
function decodeBase64(text) {
  const s = text.replace(/[\r\n]/g, "");
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) throw new Error("illegal base64 data");
  return Buffer.from(s, "base64");
}

function checksums(data) {
  const digest = (algorithm, encoding) => createHash(algorithm).update(data).digest(encoding);
  return {
    id: digest("sha1", "hex"),
    content_md5: digest("md5", "hex"),
    content_sha1: digest("sha1", "hex"),
    content_sha256: digest("sha256", "hex"),
    content_base64sha256: digest("sha256", "base64"),
    content_sha512: digest("sha512", "hex"),
    content_base64sha512: digest("sha512", "base64"),
  };
}

/** Go's os.IsNotExist on a stat error. */
const notExist = (err) => err?.code === "ENOENT";

// ---------------------------------------------------------------------------
// The RPCs
// ---------------------------------------------------------------------------

/**
 * Handlers for the provider's resource RPCs, with the stub's msgpack codec; relative paths
 * resolve against `cwd`. They replace the schema-only stub's for the provider they serve.
 */
export function localProviderHandlers(schema, { decodeValue, encodeValue, UNKNOWN }, { cwd = process.cwd() } = {}) {
  const at = (file) => path.resolve(cwd, file);
  const blocks = Object.fromEntries(Object.entries(schema.resource_schemas ?? {}).map(([type, s]) => [type, s.block]));
  const decoded = (dynamic) => (dynamic?.msgpack?.length ? decodeValue(dynamic.msgpack) : null);
  const dynamic = (value) => ({ msgpack: Buffer.from(encodeValue(value)) });
  const known = (v) => v !== null && v !== undefined && v !== UNKNOWN;
  const unsupported = (type) => ({ diagnostics: [error("Unsupported resource type", `The local stand-in applies ${Object.keys(RESOURCES).join(" and ")}, not ${type}.`)] });

  /** ValidateResourceConfig: the ExactlyOneOf validators, FilePermissionType, deprecation. */
  function validate(type, config) {
    const facts = RESOURCES[type];
    const diagnostics = [];
    if (config === null || config === UNKNOWN) return diagnostics;
    // [validators] exactly_one_of.go: each attribute's validator counts itself and the others,
    // and waits (says nothing) while any of them is unknown; the message names itself first.
    for (const self of facts.exactlyOne) {
      if (config[self] === UNKNOWN) continue;
      const others = facts.exactlyOne.filter((a) => a !== self);
      if (others.some((a) => config[a] === UNKNOWN)) continue;
      const count = [self, ...others].filter((a) => known(config[a])).length;
      const names = `[${[self, ...others].join(",")}]`;
      if (count === 0) diagnostics.push(error("Invalid Attribute Combination", `No attribute specified when one (and only one) of ${names} is required`, self));
      if (count > 1) diagnostics.push(error("Invalid Attribute Combination", `${count} attributes specified when one (and only one) of ${names} is required`, self));
    }
    // [local] file_permission_type.go ValidateAttribute.
    for (const a of PERMISSIONS) {
      const fp = config[a];
      if (!known(fp)) continue;
      if (fp.length < 3 || fp.length > 4) {
        diagnostics.push(error("Invalid File Permission String Value", `bad mode permission: string length should be 3 or 4 digits: ${fp}`, a));
        continue;
      }
      const mode = parseOctal(fp);
      if (Number.isNaN(mode) || mode > 0o777 || mode < 0) diagnostics.push(error("Invalid File Permission String Value", `bad mode permission: string must be expressed in octal numeric notation: ${fp}`, a));
    }
    // [framework] attribute_validation.go: a warning for a deprecated attribute with a known value.
    for (const [a, message] of Object.entries(facts.deprecated)) {
      if (known(config[a])) diagnostics.push({ severity: "WARNING", summary: "Attribute Deprecated", detail: message, attribute: attributePath(a) });
    }
    return diagnostics;
  }

  /**
   * PlanResourceChange ([framework] server_planresourcechange.go): defaults for attributes the
   * configuration leaves null; when the plan differs from the prior state, computed attributes
   * without a default become unknown; then every argument is RequiresReplace
   * ([local] Schema; [framework] requires_replace_if.go: not on create or destroy, and only
   * when the planned value differs from the state's).
   */
  function plan(type, prior, proposed, config) {
    const block = blocks[type];
    if (proposed === null) return { planned: null, requiresReplace: [] };
    const planned = { ...proposed };
    for (const [a, value] of Object.entries(RESOURCES[type].defaults)) if (config?.[a] === null) planned[a] = value;
    if (prior === null || !sameObject(planned, prior)) {
      for (const [a, attr] of Object.entries(block.attributes)) {
        if (attr.computed && config?.[a] === null && !(a in RESOURCES[type].defaults)) planned[a] = UNKNOWN;
      }
    }
    const requiresReplace =
      prior === null
        ? []
        : Object.entries(block.attributes)
            .filter(([a, attr]) => (attr.required || attr.optional) && planned[a] !== prior[a])
            .map(([a]) => attributePath(a));
    return { planned, requiresReplace };
  }

  /** Create ([local] Create): the file's bytes, its directory, the file, the checksums. */
  function create(type, planned) {
    const facts = RESOURCES[type];
    const fail = (doing, err) => ({ diagnostics: [error(`Create ${facts.what} error`, `An unexpected error occurred while ${doing}\n\n+Original Error: ${err.message}`)] });
    let content;
    try {
      const from = facts.contents.find((a) => known(planned[a]));
      content =
        from === "content_base64"
          ? decodeBase64(planned[from])
          : from === "source"
            ? readFileSync(at(planned.source))
            : Buffer.from(from ? planned[from] : "", "utf8");
    } catch (err) {
      return fail("parsing local file content", err);
    }
    const destination = at(planned.filename);
    const directory = path.dirname(destination);
    try {
      statSync(directory);
    } catch {
      // os.MkdirAll with the directory permission (before umask), only when the directory cannot be stat'ed.
      try {
        mkdirSync(directory, { recursive: true, mode: parseOctal(planned.directory_permission) });
      } catch (err) {
        return fail("creating file directory", err);
      }
    }
    try {
      // os.WriteFile: the mode (before umask) applies to a new file; an existing one is truncated.
      writeFileSync(destination, content, { mode: parseOctal(planned.file_permission) });
    } catch (err) {
      return fail("writing the file", err);
    }
    return { state: { ...planned, ...checksums(content) }, diagnostics: [] };
  }

  /** Read ([local] Read): gone when the file is missing or its SHA1 is not the state's id. */
  function read(type, state) {
    if (state === null) return { state, diagnostics: [] };
    try {
      statSync(at(state.filename));
    } catch (err) {
      if (notExist(err)) return { state: null, diagnostics: [] };
    }
    let bytes;
    try {
      bytes = readFileSync(at(state.filename));
    } catch (err) {
      const what = RESOURCES[type].what;
      return { state, diagnostics: [error(`Read ${what} error`, `An unexpected error occurred while reading the file\n\n+Original Error: ${err.message}`)] };
    }
    return { state: checksums(bytes).id === state.id ? state : null, diagnostics: [] };
  }

  /** Delete ([local] Delete): os.Remove, its error ignored. */
  function remove(state) {
    try {
      unlinkSync(at(state.filename));
    } catch (err) {
      // os.Remove removes an empty directory too.
      if (err.code === "EISDIR" || err.code === "EPERM") {
        try {
          rmdirSync(at(state.filename));
        } catch {
          // ignored, as the provider ignores os.Remove's error
        }
      }
    }
  }

  /** Every attribute of the schema, from a JSON state ([framework] UnmarshalWithOpts, IgnoreUndefinedAttributes). */
  const fromJson = (type, json) => Object.fromEntries(Object.keys(blocks[type].attributes).map((a) => [a, json[a] ?? null]));

  const handles = (type) => type in RESOURCES && type in blocks;

  return {
    ValidateResourceConfig: (call, callback) => {
      const { type_name, config } = call.request;
      if (!handles(type_name)) return callback(null, unsupported(type_name));
      callback(null, { diagnostics: validate(type_name, decoded(config)) });
    },
    UpgradeResourceState: (call, callback) => {
      const { type_name, version, raw_state } = call.request;
      if (!handles(type_name)) return callback(null, unsupported(type_name));
      // [framework] server_upgraderesourcestate.go: the current version (0) passes through;
      // another needs an UpgradeState the provider does not implement.
      if (Number(version ?? 0) !== 0 || !raw_state?.json?.length) {
        return callback(null, {
          diagnostics: [error("Unable to Upgrade Resource State", `This resource was implemented without an UpgradeState() method, however Terraform was expecting an implementation for version ${version} upgrade.`)],
        });
      }
      callback(null, { upgraded_state: dynamic(fromJson(type_name, JSON.parse(Buffer.from(raw_state.json).toString("utf8")))), diagnostics: [] });
    },
    ReadResource: (call, callback) => {
      const { type_name, current_state, private: priv } = call.request;
      if (!handles(type_name)) return callback(null, unsupported(type_name));
      const { state, diagnostics } = read(type_name, decoded(current_state));
      callback(null, { new_state: dynamic(state), diagnostics, private: priv });
    },
    PlanResourceChange: (call, callback) => {
      const { type_name, prior_state, proposed_new_state, config, prior_private } = call.request;
      if (!handles(type_name)) return callback(null, unsupported(type_name));
      const { planned, requiresReplace } = plan(type_name, decoded(prior_state), decoded(proposed_new_state), decoded(config));
      callback(null, { planned_state: dynamic(planned), requires_replace: requiresReplace, planned_private: prior_private, diagnostics: [] });
    },
    ApplyResourceChange: (call, callback) => {
      const { type_name, prior_state, planned_state, planned_private } = call.request;
      if (!handles(type_name)) return callback(null, unsupported(type_name));
      const prior = decoded(prior_state);
      const planned = decoded(planned_state);
      // [framework] server_applyresourcechange.go: no prior state creates, no planned state
      // deletes, else Update, which the provider implements as "the plan becomes the state".
      if (planned === null) {
        if (prior !== null) remove(prior);
        return callback(null, { new_state: dynamic(null), diagnostics: [] });
      }
      if (prior !== null) return callback(null, { new_state: dynamic(planned), private: planned_private, diagnostics: [] });
      const { state, diagnostics } = create(type_name, planned);
      callback(null, { new_state: dynamic(state ?? null), private: planned_private, diagnostics });
    },
    ImportResourceState: (_call, callback) =>
      // [framework] server_importresourcestate.go: neither resource implements ImportState.
      callback(null, {
        diagnostics: [error("Resource Import Not Implemented", "This resource does not support import. Please contact the provider developer for additional information.")],
      }),
  };
}

/** Two states' equality, attribute by attribute (strings, null, unknown). */
function sameObject(a, b) {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
