import { Op, Token, TerraformVariable, type SSHProvisionerConnection } from "cdktf";
import { Construct } from "constructs";

export interface SshTarget {
  readonly host: string;
  readonly user: string;
  readonly port: number;
}

/**
 * How Terraform logs into Proxmox hosts. The private key is never in the configuration:
 * it comes from the SSH agent (default) or from the sensitive `ssh_private_key` variable
 * (TF_VAR_ssh_private_key), so the synthesized JSON holds only a reference to it.
 */
export class SshAccess extends Construct {
  readonly privateKey: TerraformVariable;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.privateKey = new TerraformVariable(this, "ssh_private_key", {
      type: "string",
      sensitive: true,
      nullable: true,
      default: Token.nullValue(),
      description: "PEM private key for SSH to the Proxmox hosts. Leave unset to use the SSH agent (SSH_AUTH_SOCK).",
    });
    this.privateKey.overrideLogicalId("ssh_private_key");
  }

  connection(target: SshTarget): SSHProvisionerConnection {
    return {
      type: "ssh",
      host: target.host,
      user: target.user,
      port: target.port,
      privateKey: this.privateKey.stringValue,
      agent: Token.asString(Op.eq(this.privateKey.value, Token.nullValue())),
      timeout: "2m",
    };
  }
}
