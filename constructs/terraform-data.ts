import { TerraformResource, type ITerraformDependable, type SSHProvisionerConnection, type FileProvisioner, type RemoteExecProvisioner } from "cdktf";
import type { Construct } from "constructs";

export interface TerraformDataProps {
  /** Values whose change replaces the resource (and so runs its provisioners again). */
  readonly triggersReplace: Readonly<Record<string, string>>;
  /** The SSH connection its provisioners use. */
  readonly connection: SSHProvisionerConnection;
  /** What runs when it is created: file uploads and remote commands, in order. */
  readonly provisioners: readonly (FileProvisioner | RemoteExecProvisioner)[];
  /**
   * Resources this one is created after.
   * @default none
   */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * Terraform's built-in `terraform_data` (Terraform >= 1.4): no provider to install, its schema is
 * Terraform's own. cdktf's DataResource binds it too, but validates each instance by running
 * `terraform version` during synth, which makes synth need Terraform on PATH and costs a process
 * per resource; the Terraform version is a documented prerequisite of deploy instead.
 */
export class TerraformData extends TerraformResource {
  private readonly triggersReplace: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: TerraformDataProps) {
    super(scope, id, {
      terraformResourceType: "terraform_data",
      terraformGeneratorMetadata: { providerName: "terraform" },
      connection: props.connection,
      provisioners: [...props.provisioners],
      dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
    });
    this.triggersReplace = props.triggersReplace;
  }

  protected synthesizeAttributes(): Record<string, unknown> {
    return { triggers_replace: { ...this.triggersReplace } };
  }
}
