import { DataResource, type ITerraformDependable, type SSHProvisionerConnection } from "cdktf";
import { Construct } from "constructs";
import type { GeneratedFile } from "./generated-file";
import { terraformLiteral } from "./terraform-text";

export interface RemoteApplyProps {
  /** SSH connection to the host. */
  readonly connection: SSHProvisionerConnection;
  /** Files to upload into `stagingDir`. Their hashes are the triggers: nothing reruns unless one changes. */
  readonly files: readonly GeneratedFile[];
  /** Directory on the host the files are uploaded to (created 0700). */
  readonly stagingDir: string;
  /** Shell commands run after the upload, in one script with `set -e`. */
  readonly commands: readonly string[];
  /** Applies that must finish first. Default: none. */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * Uploads rendered files to a host over SSH and runs the commands that apply them, whenever
 * a file's content changes.
 */
export class RemoteApply extends Construct {
  /** Terraform's built-in terraform_data: no provider to install, its schema judged by Terraform itself. */
  readonly resource: DataResource;

  constructor(scope: Construct, id: string, props: RemoteApplyProps) {
    super(scope, id);
    const triggers = Object.fromEntries(props.files.map((f) => [f.node.id, f.sha256]));
    this.resource = new DataResource(this, "apply", {
      triggersReplace: triggers,
      dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
      connection: props.connection,
      provisioners: [
        { type: "remote-exec", inline: [`mkdir -p -m 0700 ${props.stagingDir}`] },
        ...props.files.map((f) => ({
          type: "file" as const,
          content: terraformLiteral(f.content),
          destination: `${props.stagingDir}/${fileName(f)}`,
        })),
        { type: "remote-exec", inline: ["set -e", ...props.commands.map(terraformLiteral)] },
      ],
    });
  }
}

function fileName(file: GeneratedFile): string {
  return file.path.slice(file.path.lastIndexOf("/") + 1);
}
