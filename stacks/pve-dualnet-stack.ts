import { Aspects, LocalBackend, NamedCloudWorkspace, TaggedCloudWorkspaces, TerraformElement, TerraformStack } from "cdktf";
import type { Construct, Node } from "constructs";
import type { ClusterConfig } from "../config/schema";
import { TerraformCloudBackend } from "../constructs/terraform-cloud-backend";
import { TerraformLiterals } from "../constructs/terraform-text";
import { fastSynth, logicalId } from "../patches/cdktf-fast-synth";

/**
 * Base of every pve-dualnet stack: where its state lives, and every literal in it escaped as data
 * (constructs/terraform-text.ts).
 *
 * - Local (default): in the project directory under a relative path (cdktf's default is
 *   absolute, which would make the JSON differ between machines).
 * - Terraform Cloud / HCP Terraform: one workspace per stack, by name prefix or by tags; the
 *   token is never in the JSON (Terraform reads TF_TOKEN_<host> or the CLI credentials).
 */
export class PveDualnetStack extends TerraformStack {
  constructor(scope: Construct, id: string, config: ClusterConfig) {
    super(scope, id);
    Aspects.of(this).add(new TerraformLiterals());
    const cloud = config.terraformCloud;
    if (!cloud) {
      new LocalBackend(this, { path: `../../../terraform.${id}.tfstate` });
      return;
    }
    const workspaces = cloud.workspaces ?? { prefix: `${config.name}-` };
    new TerraformCloudBackend(this, {
      organization: cloud.organization,
      hostname: cloud.hostname,
      workspaces:
        "tags" in workspaces
          ? new TaggedCloudWorkspaces([...workspaces.tags, `pve-dualnet-${id}`], cloud.project)
          : new NamedCloudWorkspace(`${workspaces.prefix}${id}`, cloud.project),
    });
  }

  /** cdktf's logical id of an element, worked out without its copies of the scopes (fast-synth.ts). */
  protected override allocateLogicalId(tfElement: TerraformElement | Node): string {
    const id = fastSynth() && TerraformElement.isTerraformElement(tfElement) ? logicalId(this, tfElement) : undefined;
    return id ?? super.allocateLogicalId(tfElement);
  }

  /** cdktf's preparation pass looks for references to other stacks; these stacks have none (fast-synth.ts). */
  override prepareStack(): void {
    if (!fastSynth()) return super.prepareStack();
    this.ensureBackendExists();
  }
}
