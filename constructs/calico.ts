import { Manifest } from "@cdktf/provider-kubernetes/lib/manifest";
import { Construct } from "constructs";
import type { ClusterPlan } from "../config/plan";

export interface CalicoProps {
  /** The cluster plan: pod CIDR, encapsulation, overlay MTU, address autodetection. */
  readonly plan: ClusterPlan;
}

/**
 * Calico through the Tigera operator: the `Installation` resource, with node address
 * autodetection on the internal network and the MTU set from the plan. Calico's automatic MTU
 * takes the smallest NIC MTU of the node, i.e. the external one, which is wrong for a jumbo
 * internal network.
 *
 * Requires the Tigera operator and its CRDs on the cluster before planning: the Installation
 * kind is only known to the API server once they are installed (kubernetes_manifest reads the
 * CRD's schema at plan time and fails clearly when it is missing).
 */
export class Calico extends Construct {
  readonly installation: Manifest;

  constructor(scope: Construct, id: string, props: CalicoProps) {
    super(scope, id);
    const { plan } = props;
    const c = plan.config.kubernetes.cni.calico;
    this.installation = new Manifest(this, "installation", {
      manifest: {
        apiVersion: "operator.tigera.io/v1",
        kind: "Installation",
        metadata: { name: "default" },
        spec: {
          calicoNetwork: {
            // Whether Calico distributes routes with BGP is the CNI model's fact (config/cni/calico.ts).
            bgp: plan.cni.bgp ? "Enabled" : "Disabled",
            mtu: plan.mtu.overlay,
            nodeAddressAutodetectionV4: plan.cni.calicoAutodetection!,
            ipPools: [
              {
                name: "default-ipv4-ippool",
                cidr: plan.subnets.pod.cidr,
                blockSize: c.blockSize,
                encapsulation: c.encapsulation,
                natOutgoing: plan.cni.natOutgoing ? "Enabled" : "Disabled",
                nodeSelector: "all()",
              },
            ],
          },
        },
      },
    });
  }
}
