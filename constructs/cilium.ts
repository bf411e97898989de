import { Release } from "@cdktf/provider-helm/lib/release";
import { Construct } from "constructs";

export interface CiliumProps {
  /** The chart's values for the cluster, one YAML document (renderers/cilium.ts ciliumValuesYaml). */
  readonly values: string;
  /** The chart's version (renderers/cilium.ts CILIUM_CHART_VERSION, the version the values are checked against). */
  readonly chartVersion: string;
  /** The chart repository's URL (renderers/cilium.ts CILIUM_CHART_REPOSITORY). */
  readonly repository: string;
  /**
   * Seconds Helm waits for the release's resources to be ready (the agent on every node, the
   * operator). @default 600: twice the provider's default of 300 ("Time in seconds to wait for
   * any individual kubernetes operation. Defaults to 300 seconds", hashicorp/helm 3.1.1
   * docs/resources/release.md), because a first install pulls the agent image on every node at
   * once; cilium-cli's own `--wait-duration` is 5 minutes after its install has returned
   * (defaults.StatusWaitDuration).
   */
  readonly timeoutSeconds?: number;
}

/** Where the chart goes: kubeadm's kube-system, where Cilium's docs install it; it exists before any stack runs. */
export const CILIUM_NAMESPACE = "kube-system";

/**
 * Cilium as its users install it: a Helm release of the official chart at the pinned version,
 * with this cluster's values (renderers/cilium.ts), through hashicorp/helm's helm_release (the
 * stack configures the helm provider from its kubeconfig variables). Helm renders the agent
 * daemon set, the operator, the `cilium-config` config map and the RBAC from the values.
 *
 * - `wait` (the provider's default, true, written out): the apply ends when the agent runs on
 *   every node and the operator is available, so what depends on the pod network starts after it;
 * - `atomic` (default false): a failed install is removed and a failed upgrade rolled back to
 *   the last release that worked, instead of a release left `failed` with a half-changed CNI;
 * - the values reach Terraform as one string, a literal of the stack: the stack's literals aspect
 *   (constructs/terraform-text.ts) escapes any `${` and `%{` in it, so Terraform passes the text
 *   to Helm as written.
 */
export class Cilium extends Construct {
  readonly release: Release;

  constructor(scope: Construct, id: string, props: CiliumProps) {
    super(scope, id);
    this.release = new Release(this, "release", {
      name: "cilium",
      chart: "cilium",
      repository: props.repository,
      version: props.chartVersion,
      namespace: CILIUM_NAMESPACE,
      values: [props.values],
      wait: true,
      atomic: true,
      timeout: props.timeoutSeconds ?? 600,
    });
  }
}
