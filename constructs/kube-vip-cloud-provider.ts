import { ClusterRoleBindingV1 } from "@cdktf/provider-kubernetes/lib/cluster-role-binding-v1";
import { ClusterRoleV1 } from "@cdktf/provider-kubernetes/lib/cluster-role-v1";
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import { DeploymentV1 } from "@cdktf/provider-kubernetes/lib/deployment-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import type { LoadBalancerPlan } from "../config/plan";

export interface KubeVipCloudProviderProps {
  /** The pool and the controller's image. */
  readonly loadBalancer: LoadBalancerPlan;
  /**
   * What must be ready before the controller's deployment is created: the pod network, when the
   * stack installs it as one resource that waits for it (Cilium's Helm release). The deployment
   * waits for its rollout, and its pod gets no address (nor, without kube-proxy, a working API
   * service address) before the CNI runs. @default none
   */
  readonly after?: readonly ITerraformDependable[];
}

/** Where kube-vip-cloud-provider reads its pool: its defaults (pkg/provider/provider.go, v0.0.12: KubeVipClientConfig, KubeVipClientConfigNamespace). */
export const KUBEVIP_CONFIG_MAP = { name: "kubevip", namespace: "kube-system" } as const;

const NAME = "kube-vip-cloud-controller";

/**
 * kube-vip-cloud-provider: the controller that gives each LoadBalancer service an address of the
 * pool (the `kube-vip.io/loadbalancerIPs` annotation, and spec.loadBalancerIP while kube-vip reads
 * that too); kube-vip on the control planes then holds the address (renderers/kube-vip.ts).
 * As typed resources, equivalent to the upstream v0.0.12 manifest
 * (manifest/kube-vip-cloud-controller.yaml: the service account, the cluster role and its binding,
 * one replica preferring the control planes), with the image pinned by tag and pulled only when
 * missing, and the pool in the `kubevip` ConfigMap it reads: `range-global`, ranges separated by
 * commas for services of every namespace (pkg/provider/loadBalancer.go, discoverPool:
 * `cidr-<namespace>`, then `cidr-global`, then `range-<namespace>`, then `range-global`;
 * pkg/ipam/addressbuilder.go splits a range list at commas). The controller skips any IPv4
 * address ending in .0 or .255 (pkg/ipam/ipam.go, isNetworkIDOrBroadcastIP).
 */
export class KubeVipCloudProvider extends Construct {
  readonly configMap: ConfigMapV1;
  readonly deployment: DeploymentV1;

  constructor(scope: Construct, id: string, props: KubeVipCloudProviderProps) {
    super(scope, id);
    const { loadBalancer } = props;
    const namespace = KUBEVIP_CONFIG_MAP.namespace;
    const labels = { app: "kube-vip", component: "kube-vip-cloud-provider" };

    const serviceAccount = new ServiceAccountV1(this, "service-account", { metadata: { name: NAME, namespace } });
    const role = new ClusterRoleV1(this, "cluster-role", {
      metadata: { name: "system:kube-vip-cloud-controller-role", annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" } },
      // The upstream manifest's rules (v0.0.12), verb for verb.
      rule: [
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update", "list", "put"] },
        { apiGroups: [""], resources: ["configmaps", "endpoints", "events", "services/status", "leases"], verbs: ["*"] },
        { apiGroups: [""], resources: ["nodes", "services"], verbs: ["list", "get", "watch", "update"] },
      ],
    });
    new ClusterRoleBindingV1(this, "cluster-role-binding", {
      metadata: { name: "system:kube-vip-cloud-controller-binding" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
      subject: [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace }],
    });

    const pool = loadBalancer.ranges.join(",");
    this.configMap = new ConfigMapV1(this, "pool", {
      metadata: { name: KUBEVIP_CONFIG_MAP.name, namespace },
      data: { "range-global": pool },
    });

    const preferControlPlanes = { weight: 10, preference: { matchExpressions: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists" }] } };
    this.deployment = new DeploymentV1(this, "deployment", {
      metadata: { name: "kube-vip-cloud-provider", namespace, labels },
      spec: {
        replicas: "1",
        revisionHistoryLimit: 10,
        selector: { matchLabels: labels },
        template: {
          // No checksum of the pool here: the controller reads the ConfigMap each time it hands out
          // an address (pkg/provider/loadBalancer.go, syncLoadBalancer), so a new pool needs no restart.
          metadata: { labels },
          spec: {
            serviceAccountName: serviceAccount.metadata.name,
            container: [
              {
                name: "kube-vip-cloud-provider",
                image: loadBalancer.cloudProviderImage,
                imagePullPolicy: "IfNotPresent",
                command: ["/kube-vip-cloud-provider", "--leader-elect-resource-name=kube-vip-cloud-controller"],
              },
            ],
            toleration: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }],
            affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [preferControlPlanes] } },
            terminationGracePeriodSeconds: 30,
          },
        },
      },
      ...(props.after?.length ? { dependsOn: [...props.after] } : {}),
    });
  }
}
