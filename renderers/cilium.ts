/**
 * Cilium's Helm values, derived from the plan: the settings of the official chart at the pinned
 * version (CILIUM_VERSION, v1.20.0: cilium-1.20.0.tgz of cilium/charts, the chart of
 * install/kubernetes/cilium of cilium/cilium at that tag) that this project decides, every other
 * value left at the chart's default. Installed the way Cilium's users install it, with Helm: the
 * cni stack's helm_release of that chart (constructs/cilium.ts, hashicorp/helm), the Terraform
 * form of `helm install cilium cilium/cilium --version 1.20.0 --namespace kube-system -f <values>`
 * (docs/cni.md). Keys and types are checked against the chart's values.yaml and values.schema.json
 * in __tests__/cilium-values.test.ts.
 *
 * What each value does, from the chart's values.yaml and templates/cilium-configmap.yaml:
 * - `k8sServiceHost`/`k8sServicePort`: the API endpoint the agent and operator use instead of the
 *   `kubernetes` service's ClusterIP, which needs kube-proxy (or Cilium itself) first: the plan's
 *   endpoint, the VIP or the only control plane's internal address.
 * - `kubeProxyReplacement`: "true" or "false" (the configmap template refuses anything else).
 * - `routingMode`/`tunnelProtocol`/`autoDirectNodeRoutes`/`ipv4NativeRoutingCIDR`: the routing the
 *   CNI model states (config/cni/cilium.ts); native routing needs the native routing CIDR when
 *   masquerading (the template fails without it) - the pod network.
 * - `ipam.mode: kubernetes` (cilium/cilium pkg/ipam/option/option.go, IPAMKubernetes, "the
 *   Kubernetes PodCIDR based hostscope IPAM mode"): pod addresses from each node's PodCIDR, which kube-controller-manager
 *   allocates from kubernetes.podCidr by kubernetes.nodeCidrMaskSize; the chart's default
 *   cluster-pool would allocate from its own clusterPoolIPv4PodCIDRList, 10.0.0.0/8, which can
 *   overlap the nodes' own networks.
 * - `MTU`: "the underlying network MTU": the plan's underlay MTU (overlay + overhead); Cilium
 *   subtracts the tunnel overhead itself (pkg/mtu), and its own detection could read another NIC.
 * - `devices`: the internal NIC when guest names are pinned (the CNI model's ciliumDevices).
 * - `hubble.enabled`: the chart enables Hubble by default; here it follows kubernetes.cni.cilium.hubble.
 * - `operator.replicas`: the chart's 2 operators keep apart by a required anti-affinity on the
 *   node name, so a one-node cluster gets one.
 * - Dual-stack (networks.internal.ipv6): `ipv6.enabled` ("Enable IPv6 support"; the configmap's
 *   enable-ipv6), pod addresses of both families from the node's podCIDRs (ipam mode kubernetes,
 *   which kube-controller-manager allocates from both pod networks); `enableIPv6Masquerade` like
 *   the IPv4 one; with native routing `ipv6NativeRoutingCIDR`, the IPv6 pod network (the
 *   configmap template fails without it: "ipv6NativeRoutingCIDR must be set when routingMode is
 *   native"); `underlayProtocol: ipv4` ("IP family for the underlay", default "auto"): the
 *   tunnel runs between the nodes' internal IPv4 addresses for both families, so its overhead
 *   stays 50 bytes (config/cni/cilium.ts) and the firewall's tunnel rule stays IPv4.
 */
import { stringify } from "yaml";
import { CILIUM_VERSION } from "../config/schema";
import type { ClusterPlan } from "../config/plan";

/** The chart's default operator replicas (values.yaml operator.replicas). */
const CHART_OPERATOR_REPLICAS = 2;

export function ciliumHelmValues(plan: ClusterPlan): Record<string, unknown> {
  const c = plan.config.kubernetes.cni.cilium;
  const native = c.routingMode === "native";
  const devices = plan.cni.ciliumDevices;
  // Dual-stack: the IPv6 pod network (kubernetesNetwork.podSubnets[1]).
  const pod6 = plan.kubernetesNetwork.dualStack ? plan.kubernetesNetwork.podSubnets[1] : undefined;
  return {
    image: { override: c.image },
    operator: { image: { override: c.operatorImage }, replicas: Math.min(CHART_OPERATOR_REPLICAS, plan.vms.length) },
    k8sServiceHost: plan.apiServer.host,
    k8sServicePort: plan.apiServer.port,
    kubeProxyReplacement: plan.cni.replacesKubeProxy ? "true" : "false",
    routingMode: c.routingMode,
    ...(native ? { autoDirectNodeRoutes: true, ipv4NativeRoutingCIDR: plan.subnets.pod.cidr, ...(pod6 ? { ipv6NativeRoutingCIDR: pod6 } : {}) } : { tunnelProtocol: c.tunnelProtocol }),
    ...(pod6 ? { ipv6: { enabled: true }, ...(native ? {} : { underlayProtocol: "ipv4" }) } : {}),
    ipam: { mode: "kubernetes" },
    MTU: plan.cni.underlayMtu,
    ...(devices ? { devices: [...devices] } : {}),
    enableIPv4Masquerade: plan.cni.natOutgoing,
    ...(pod6 ? { enableIPv6Masquerade: plan.cni.natOutgoing } : {}),
    hubble: { enabled: c.hubble },
  };
}

/** The chart version the values are for: the tag without its v. */
export const CILIUM_CHART_VERSION = CILIUM_VERSION.replace(/^v/, "");

/** Cilium's Helm repository (its docs' `helm repo add cilium https://helm.cilium.io/`), where cilium-<version>.tgz is. */
export const CILIUM_CHART_REPOSITORY = "https://helm.cilium.io/";

/** The values as one YAML document, what the release passes to the chart (Helm's `-f`). */
export function ciliumValuesYaml(plan: ClusterPlan): string {
  return stringify(ciliumHelmValues(plan));
}
