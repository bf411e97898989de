import { Manifest } from "@cdktf/provider-kubernetes/lib/manifest";
import { Construct } from "constructs";
import type { CniConfig } from "../config/cni/model";
import type { CniPlan } from "../config/plan";

export interface CalicoProps {
  /** The pod network: the IP pool's CIDR. */
  readonly podCidr: string;
  /** The pods' MTU: the plan's overlay MTU (config/mtu.ts), never Calico's own guess. */
  readonly mtu: number;
  /** The CNI model's facts (config/cni/calico.ts): BGP, outgoing NAT, the internal NIC's autodetection. */
  readonly cni: Pick<CniPlan, "bgp" | "natOutgoing" | "calicoAutodetection">;
  /** kubernetes.cni.calico: block size and encapsulation. */
  readonly settings: Pick<CniConfig["calico"], "blockSize" | "encapsulation">;
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
    const { cni, settings: c } = props;
    this.installation = new Manifest(this, "installation", {
      manifest: {
        apiVersion: "operator.tigera.io/v1",
        kind: "Installation",
        metadata: { name: "default" },
        spec: {
          calicoNetwork: {
            // Whether Calico distributes routes with BGP is the CNI model's fact (config/cni/calico.ts).
            bgp: cni.bgp ? "Enabled" : "Disabled",
            mtu: props.mtu,
            nodeAddressAutodetectionV4: cni.calicoAutodetection!,
            ipPools: [
              {
                name: "default-ipv4-ippool",
                cidr: props.podCidr,
                blockSize: c.blockSize,
                encapsulation: c.encapsulation,
                natOutgoing: cni.natOutgoing ? "Enabled" : "Disabled",
                nodeSelector: "all()",
              },
            ],
          },
        },
      },
    });
  }
}
