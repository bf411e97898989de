/**
 * schemas/ is bpg/proxmox's real schema: what the bindings in .gen/ are generated from
 * (`npm run bindings:check` keeps them in step) must agree with the provider's schema at
 * v0.111.1 for every resource pve-dualnet uses, and nothing it emits may be deprecated there.
 */
import { dualBridgeNode, planWith } from "./helpers";
import { synthAll } from "./synth";
import { layouts } from "./layouts";
import { proxmoxSchema, referenceSchema, withoutDescriptions } from "./terraform/provider-schemas";

const reference = referenceSchema();
const ours = proxmoxSchema();
const withReference = reference ? it : it.skip;

/** Every proxmox_* resource type any variant of the stacks emits. */
const emitted = new Set(
  [
    () => {},
    (c: any) => (c.vmDefaults.cloudInit.networkData = { enabled: true }),
    (c: any) => (c.vmDefaults.source = { image: { url: "https://example.com/noble.qcow2" } }),
    ...([9, 8] as const).map((version) => (c: any) => {
      c.proxmox.nodes.push(dualBridgeNode("pve2", "192.168.0.3", "10.0.0.3"), dualBridgeNode("pve3", "192.168.0.4", "10.0.0.4"));
      c.proxmox.version = version;
      c.proxmox.ha = { enabled: true };
    }),
    ...Object.values(layouts),
  ].flatMap((edit) => Object.values(synthAll(planWith(edit))).flatMap((stack: any) => Object.keys(stack.resource ?? {}).filter((t) => t.startsWith("proxmox_")))),
);

describe("the pinned bpg/proxmox schema (schemas/)", () => {
  withReference("agrees with the provider's schema at v0.111.1 for every resource it holds, and for the provider block", () => {
    expect(withoutDescriptions(ours.provider)).toEqual(withoutDescriptions(reference.provider));
    for (const [type, schema] of Object.entries(ours.resource_schemas)) {
      expect([type, withoutDescriptions(schema)]).toEqual([type, withoutDescriptions(reference.resource_schemas[type])]);
    }
  });

  it("holds every resource type the stacks emit", () => {
    expect([...emitted].filter((t) => !(t in ours.resource_schemas))).toEqual([]);
  });

  withReference("emits no resource type the provider marks deprecated", () => {
    expect([...emitted].filter((t) => reference.resource_schemas[t]?.block.deprecated)).toEqual([]);
  });

  withReference("would notice a difference (the comparison can fail)", () => {
    const changed = structuredClone(ours.resource_schemas.proxmox_virtual_environment_vm);
    changed.block.attributes.network_device = { type: "string", optional: true };
    expect(withoutDescriptions(changed)).not.toEqual(withoutDescriptions(reference.resource_schemas.proxmox_virtual_environment_vm));
  });
});
