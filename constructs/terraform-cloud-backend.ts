import { getHostNameType, TerraformBackend, type NamedCloudWorkspace, type TaggedCloudWorkspaces, type TerraformRemoteState } from "cdktf";
import type { Construct } from "constructs";

export interface TerraformCloudBackendProps {
  /** The Terraform Cloud / HCP Terraform organization. */
  readonly organization: string;
  /**
   * The Terraform Cloud or Enterprise host.
   * @default app.terraform.io (Terraform's own default; the key is left out)
   */
  readonly hostname?: string;
  /** The stack's workspace: by name, or every workspace with these tags (each with its project). */
  readonly workspaces: NamedCloudWorkspace | TaggedCloudWorkspaces;
}

/**
 * Terraform's `cloud` block (https://developer.hashicorp.com/terraform/cli/cloud/settings): the
 * same JSON and the same stack metadata (backend "cloud", and "tfc" or "tfe" by host, which the
 * cdktf CLI reads) as cdktf's CloudBackend. cdktf's CloudBackend also validates every stack it is
 * in by running `terraform version` during synth: synth then fails where Terraform is not on PATH
 * (a CI job that only synthesizes and reviews), and costs a Terraform process per stack. Deploying
 * needs the Terraform the README names (the cloud block needs 1.1; `cdktf deploy` warns below 1.2).
 */
export class TerraformCloudBackend extends TerraformBackend {
  constructor(
    scope: Construct,
    private readonly props: TerraformCloudBackendProps,
  ) {
    super(scope, "backend", "cloud");
  }

  public override toTerraform(): { terraform: { cloud: Record<string, unknown> } } {
    // Its JSON is its props: nothing of pve-dualnet overrides it (cdktf would deep-merge overrides in).
    if (Object.keys(this.rawOverrides).length > 0) throw new Error("TerraformCloudBackend takes no overrides: set its props");
    const { organization, hostname, workspaces } = this.props;
    return { terraform: { cloud: { organization, hostname, workspaces: workspaces.toTerraform() } } };
  }

  /** pve-dualnet writes JSON stacks only (cdktf's `hclOutput` is not supported). */
  public override toHclTerraform(): never {
    throw new Error("TerraformCloudBackend writes Terraform JSON only");
  }

  public override toMetadata(): Record<string, unknown> {
    return { ...super.toMetadata(), cloud: getHostNameType(this.props.hostname) };
  }

  /** A stack of pve-dualnet reads no other stack's state: its values come from the one plan. */
  public override getRemoteStateDataSource(): TerraformRemoteState {
    throw new Error("pve-dualnet stacks do not read each other's state");
  }
}
