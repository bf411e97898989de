import { Manifest } from "@cdktf/provider-kubernetes/lib/manifest";
import { Construct } from "constructs";
import type { CniConfig } from "../config/cni/model";
import type { CniPlan } from "../config/plan";

export interface CalicoProps {
  /** The pod network: the IP pool's CIDR. */
  readonly podCidr: string;
  /**
   * With dual-stack: the IPv6 pool's CIDR and block size. Calico then runs a second pool,
   * `default-ipv6-ippool` (the operator's own name for it), with the IPv4 pool's encapsulation
   * and outgoing NAT. Default: IPv4 only.
   */
  readonly ipv6?: { readonly podCidr: string; readonly blockSize: number };
  /**
   * The pods' MTU: the plan's overlay MTU (config/mtu.ts), never Calico's own guess. The operator
   * sets it on both VXLAN devices (FELIX_VXLANMTU and FELIX_VXLANMTUV6), and the plan has left
   * room for VXLAN over IPv6.
   */
  readonly mtu: number;
  /** The CNI model's facts (config/cni/calico.ts): BGP, outgoing NAT, the internal NIC's autodetection. */
  readonly cni: Pick<CniPlan, "bgp" | "natOutgoing" | "calicoAutodetection" | "calicoAutodetection6">;
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
    const natOutgoing = cni.natOutgoing ? "Enabled" : "Disabled";
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
            ...(props.ipv6 ? { nodeAddressAutodetectionV6: cni.calicoAutodetection6! } : {}),
            ipPools: [
              {
                name: "default-ipv4-ippool",
                cidr: props.podCidr,
                blockSize: c.blockSize,
                encapsulation: c.encapsulation,
                natOutgoing,
                nodeSelector: "all()",
              },
              ...(props.ipv6
                ? [{ name: "default-ipv6-ippool", cidr: props.ipv6.podCidr, blockSize: props.ipv6.blockSize, encapsulation: c.encapsulation, natOutgoing, nodeSelector: "all()" }]
                : []),
            ],
          },
        },
      },
    });
  }
}
