import { Construct } from "constructs";
import { VirtualEnvironmentFile } from "../.gen/providers/proxmox/virtual-environment-file";

export interface NetworkDataSnippetProps {
  /** Proxmox node of the VM. */
  readonly node: string;
  /** Datastore with the `snippets` content type. */
  readonly datastore: string;
  /** Stable file name: the VM references the snippet by it, so content changes never replace the VM. */
  readonly fileName: string;
  /** The network-data YAML. */
  readonly content: string;
}

/** A cloud-init network-data snippet uploaded to a Proxmox node (over the provider's SSH). */
export class NetworkDataSnippet extends Construct {
  readonly file: VirtualEnvironmentFile;
  /**
   * The file id as a literal (`<datastore>:snippets/<name>`), not a reference: a changed snippet
   * is replaced, and a reference would be unknown during that plan, which would force the VM
   * (whose network_data_file_id is ForceNew) to be replaced too. Depend on `file` explicitly.
   */
  readonly fileId: string;

  constructor(scope: Construct, id: string, props: NetworkDataSnippetProps) {
    super(scope, id);
    this.file = new VirtualEnvironmentFile(this, "snippet", {
      nodeName: props.node,
      datastoreId: props.datastore,
      contentType: "snippets",
      sourceRaw: { fileName: props.fileName, data: props.content },
    });
    this.fileId = `${props.datastore}:snippets/${props.fileName}`;
  }
}
