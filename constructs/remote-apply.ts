import type { ITerraformDependable, SSHProvisionerConnection } from "cdktf";
import { Construct } from "constructs";
import { shellAnd, shellCommand, type ShellCommand } from "../renderers/shell";
import type { Upload } from "./host-programs";
import { TerraformData } from "./terraform-data";
import { sha256 } from "./terraform-text";

export interface RemoteApplyProps {
  /** SSH connection to the host. */
  readonly connection: SSHProvisionerConnection;
  /** Files to upload. Their hashes are the triggers: nothing reruns unless one changes. */
  readonly uploads: readonly Upload[];
  /** Directory on the host under which each set of uploads gets its own directory (both created 0700). */
  readonly stagingRoot: string;
  /** Names this apply's staging directories: `<label>-<hash of the uploads>`. */
  readonly label: string;
  /**
   * Commands run after the upload, each over its own SSH connection (a new connection proves
   * the host is still reachable); each gets the staging directory and must exit 0. Built with
   * shellCommand (renderers/shell.ts), so every word is quoted.
   */
  readonly steps: readonly ((dir: string) => ShellCommand)[];
  /**
   * Applies that must finish first.
   * @default none
   */
  readonly dependsOn?: readonly ITerraformDependable[];
}

/**
 * Uploads files to a host over SSH and runs the steps that apply them, whenever a file's
 * content changes. The upload directory is named by the content, so two deployers applying
 * different changes never share staging files; older directories are removed after success.
 * A failing step fails the deploy with its output.
 */
export class RemoteApply extends Construct {
  readonly resource: TerraformData;
  /** Where the uploads land on the host. */
  readonly dir: string;

  constructor(scope: Construct, id: string, props: RemoteApplyProps) {
    super(scope, id);
    const hashes = Object.fromEntries(props.uploads.map((u) => [u.name, sha256(u.content)]));
    const digest = sha256(Object.entries(hashes).map(([name, hash]) => `${hash}  ${name}\n`).join("")).slice(0, 16);
    const current = `${props.label}-${digest}`;
    this.dir = `${props.stagingRoot}/${current}`;
    const cleanup = shellCommand("find", props.stagingRoot, "-maxdepth", 1, "-name", `${props.label}-*`, "!", "-name", current, "-exec", "rm", "-rf", "{}", "+");
    const steps = props.steps.map((step) => step(this.dir));
    steps[steps.length - 1] = shellAnd(steps[steps.length - 1]!, cleanup);
    this.resource = new TerraformData(this, "apply", {
      triggersReplace: hashes,
      dependsOn: props.dependsOn ? [...props.dependsOn] : undefined,
      connection: props.connection,
      provisioners: [
        { type: "remote-exec", inline: [shellAnd(shellCommand("umask", "077"), shellCommand("mkdir", "-p", this.dir))] },
        ...props.uploads.map((u) => ({ type: "file" as const, content: u.content, destination: `${this.dir}/${u.name}` })),
        ...steps.map((command) => ({ type: "remote-exec" as const, inline: [command] })),
      ],
    });
  }
}
