import { Construct } from "constructs";
import { DownloadFile } from "../.gen/providers/proxmox/download-file";

export interface CloudImageProps {
  /** Proxmox node that downloads the image (local storage is per node). */
  readonly node: string;
  /** Image URL (qcow2 or raw). */
  readonly url: string;
  /** Datastore with the `import` content type enabled. */
  readonly datastore: string;
  /** File name on the datastore: .qcow2, .raw or .vmdk, the extensions Proxmox imports. */
  readonly fileName: string;
  /**
   * sha256 of the image.
   * @default not checked
   */
  readonly checksum?: string;
}

/**
 * A cloud image that a Proxmox node downloads itself (the download-url API: nothing passes
 * through the machine running Terraform), ready for `disk.import_from`.
 */
export class CloudImage extends Construct {
  readonly file: DownloadFile;
  /**
   * `<datastore>:import/<file name>` as a literal: the VM's `import_from` is read only when the VM
   * is created, so a reference that turns unknown when the image is replaced would only add noise
   * to plans. Depend on `file` explicitly.
   */
  readonly fileId: string;

  constructor(scope: Construct, id: string, props: CloudImageProps) {
    super(scope, id);
    this.file = new DownloadFile(this, "image", {
      nodeName: props.node,
      datastoreId: props.datastore,
      contentType: "import",
      url: props.url,
      fileName: props.fileName,
      checksum: props.checksum,
      checksumAlgorithm: props.checksum ? "sha256" : undefined,
    });
    this.fileId = `${props.datastore}:import/${props.fileName}`;
  }
}
