import { Construct } from "constructs";
import { GeneratedFile } from "./generated-file";

export interface CiliumProps {
  /** The chart's values for the cluster, as renderers/cilium.ts writes them (ciliumValuesFile). */
  readonly valuesFile: string;
  /** Directory of the values file, relative to the stack's Terraform working directory. */
  readonly directory: string;
}

/**
 * Cilium's Helm values for the official chart at the pinned version (renderers/cilium.ts),
 * written next to the state for `helm install` (docs/cni.md). The chart's own resources (agent
 * daemon set, operator, RBAC, config map) are not yet typed Kubernetes resources here: Helm
 * renders them from these values.
 */
export class Cilium extends Construct {
  readonly values: GeneratedFile;

  constructor(scope: Construct, id: string, props: CiliumProps) {
    super(scope, id);
    this.values = new GeneratedFile(this, "values", { directory: props.directory, name: "values.yaml", content: props.valuesFile });
  }
}
