import { File } from "@cdktf/provider-local/lib/file";
import { Construct } from "constructs";
import type { Upload } from "./host-programs";
import { sha256 } from "./terraform-text";

export interface GeneratedFileProps {
  /** Directory of the file, relative to the Terraform working directory of the stack. */
  readonly directory: string;
  /** File name inside the directory. */
  readonly name: string;
  /** Literal file content. */
  readonly content: string;
  /**
   * Octal permission.
   * @default "0644"
   */
  readonly permission?: string;
}

/**
 * A rendered file written by the local provider, so that operators can review exactly what
 * is applied (and use it by hand) next to the Terraform state.
 */
export class GeneratedFile extends Construct implements Upload {
  /** File name (the same when it is uploaded to a host). */
  readonly name: string;
  /** The literal content. */
  readonly content: string;
  /** sha256 of the content, for triggers. */
  readonly sha256: string;
  /** Path as Terraform sees it. */
  readonly path: string;
  readonly resource: File;

  constructor(scope: Construct, id: string, props: GeneratedFileProps) {
    super(scope, id);
    this.name = props.name;
    this.content = props.content;
    this.sha256 = sha256(props.content);
    this.path = `${props.directory}/${props.name}`;
    this.resource = new File(this, "file", {
      filename: this.path,
      content: props.content,
      filePermission: props.permission ?? "0644",
      directoryPermission: "0755",
    });
  }
}
