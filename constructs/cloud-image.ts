import { Construct } from "constructs";
import { VirtualEnvironmentFile } from "../.gen/providers/proxmox/virtual-environment-file";

export interface CloudImageProps {
  /** Proxmox node to download the image onto. */
  readonly node: string;
  /** Image URL (qcow2 or raw). */
  readonly url: string;
  /** Datastore with the `import` content type enabled. */
  readonly datastore: string;
  /** File name on the datastore. Default: the URL's last path segment. */
  readonly fileName?: string;
  /** sha256 of the image. Default: not checked. */
  readonly checksum?: string;
}

/** A cloud image downloaded by a Proxmox node, ready for `disk.import_from`. */
export class CloudImage extends Construct {
  readonly file: VirtualEnvironmentFile;

  constructor(scope: Construct, id: string, props: CloudImageProps) {
    super(scope, id);
    this.file = new VirtualEnvironmentFile(this, "image", {
      nodeName: props.node,
      datastoreId: props.datastore,
      contentType: "import",
      sourceFile: {
        path: props.url,
        fileName: props.fileName,
        checksum: props.checksum,
      },
    });
  }
}
