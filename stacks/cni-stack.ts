import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { conditional, Fn, Op, TerraformOutput, TerraformVariable, Token, type TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { Release } from "@cdktf/provider-helm/lib/release";
import type { ClusterPlan } from "../config/plan";
import { CILIUM_CHART_REPOSITORY, CILIUM_CHART_VERSION, ciliumValuesYaml } from "../renderers/cilium";
import { kubeconfigPath } from "../renderers/node-setup";
import { PveDualnetStack } from "./pve-dualnet-stack";

/*
 * The CNI's constructs and the LoadBalancer controller are loaded as the description asks for
 * them, not at every start: a description has one CNI, and most have no pool. Their provider
 * bindings are a large part of the app's bundle (kube-vip's DeploymentV1 alone is a quarter of
 * it, Flannel's DaemonSetV1 another), and a binding module defines its hundreds of classes when
 * it loads. In the bundle (bin/bundle.mjs) a module loaded by require() runs at its first require.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const flannel = () => (require("../constructs/flannel") as typeof import("../constructs/flannel")).Flannel;
const calico = () => (require("../constructs/calico") as typeof import("../constructs/calico")).Calico;
const cilium = () => (require("../constructs/cilium") as typeof import("../constructs/cilium")).Cilium;
const helmProvider = () => (require("@cdktf/provider-helm/lib/provider") as typeof import("@cdktf/provider-helm/lib/provider")).HelmProvider;
const kubeVipCloudProvider = () => (require("../constructs/kube-vip-cloud-provider") as typeof import("../constructs/kube-vip-cloud-provider")).KubeVipCloudProvider;
/* eslint-enable @typescript-eslint/no-require-imports */

export interface CniStackProps {
  readonly plan: ClusterPlan;
  /** Stacks that must be deployed first (the node VMs). Default: none. */
  readonly after?: readonly TerraformStack[];
}

/**
 * Step 4 of the build order: the CNI, with node and overlay traffic on the internal network
 * (Flannel and Calico as typed Kubernetes resources through hashicorp/kubernetes, Cilium as a Helm
 * release of its chart through hashicorp/helm), and with a LoadBalancer pool the controller that
 * hands out its addresses. Its own state; the kubeconfig is read at plan time from a path, never
 * embedded.
 */
export class CniStack extends PveDualnetStack {
  constructor(scope: Construct, id: string, props: CniStackProps) {
    super(scope, id, props.plan.config);
    const { plan } = props;
    const kube = plan.config.kubernetes.kubeconfig;
    for (const stack of props.after ?? []) this.addDependency(stack);

    const path = new TerraformVariable(this, "kubeconfig_path", {
      type: "string",
      default: kubeconfigPath(plan),
      description: "kubeconfig of the new cluster (TF_VAR_kubeconfig_path overrides)",
    });
    const context = new TerraformVariable(this, "kubeconfig_context", {
      type: "string",
      default: kube.context ?? "",
      description: "kubeconfig context; empty for the current context (TF_VAR_kubeconfig_context overrides)",
    });
    path.overrideLogicalId("kubeconfig_path");
    context.overrideLogicalId("kubeconfig_context");
    const kubeconfig = {
      configPath: path.stringValue,
      // An expression, so a token: a literal "${...}" would be escaped as data (constructs/terraform-text.ts).
      configContext: Token.asString(conditional(Op.lt(Fn.lengthOf(context.stringValue), 1), Token.nullValue(), context.stringValue)),
    };
    new KubernetesProvider(this, "kubernetes", kubeconfig);

    const cni = plan.config.kubernetes.cni;
    let cniRelease: Release | undefined;
    const k8sNet = plan.kubernetesNetwork;
    // Dual-stack: the IPv6 pod network (podSubnets[1]) and its node mask.
    const ipv6 = k8sNet.dualStack ? { podCidr: k8sNet.podSubnets[1]!, nodeCidrMaskSize: k8sNet.nodeCidrMaskSize6! } : undefined;
    if (plan.cni.plugin === "flannel") new (flannel())(this, "flannel", { podCidr: plan.subnets.pod.cidr, nodeCidrMaskSize: plan.config.kubernetes.nodeCidrMaskSize, ...(ipv6 ? { ipv6 } : {}), cni: plan.cni, settings: cni.flannel });
    else if (plan.cni.plugin === "calico")
      new (calico())(this, "calico", {
        podCidr: plan.subnets.pod.cidr,
        ...(ipv6 ? { ipv6: { podCidr: ipv6.podCidr, blockSize: k8sNet.calicoBlockSize6! } } : {}),
        mtu: plan.mtu.overlay,
        cni: plan.cni,
        settings: cni.calico,
      });
    else {
      // Cilium: the chart at the pinned version with this cluster's values, a Helm release
      // (docs/cni.md). hashicorp/helm 3.x takes the cluster as a nested attribute,
      // `kubernetes = { config_path, config_context }`: the same kubeconfig, read at plan time.
      new (helmProvider())(this, "helm", { kubernetes: kubeconfig });
      cniRelease = new (cilium())(this, "cilium", { values: ciliumValuesYaml(plan), chartVersion: CILIUM_CHART_VERSION, repository: CILIUM_CHART_REPOSITORY }).release;
    }
    // LoadBalancer services: the controller that hands out the pool's addresses (kube-vip on the
    // control planes holds them). Nothing without a pool. After a CNI release, which waits until
    // the pod network is up (Flannel's and Calico's resources are created alongside it, as before).
    if (plan.loadBalancer) new (kubeVipCloudProvider())(this, "kube-vip-cloud-provider", { loadBalancer: plan.loadBalancer, ...(cniRelease ? { after: [cniRelease] } : {}) });

    new TerraformOutput(this, "mtu_chain", {
      description: "Underlay, VM NIC and overlay MTU of the internal network",
      value: {
        underlay: plan.mtu.underlay.internal,
        vm_nic: plan.mtu.internalNic,
        encapsulation: plan.mtu.encapsulation,
        overhead: plan.mtu.overhead,
        // Dual-stack: what each family's pod packets cost (the plan reserves the larger).
        ...(plan.mtu.overheadByFamily ? { overhead_ipv4: plan.mtu.overheadByFamily.ipv4, overhead_ipv6: plan.mtu.overheadByFamily.ipv6 } : {}),
        overlay: plan.mtu.overlay,
      },
    });
  }
}
