/**
 * kube-vip as a static pod on every control plane: it holds the API server's virtual IP on the
 * internal NIC (ARP mode) for whichever control plane leads the `plndr-cp-lock` lease. Checked
 * against kube-vip's own manifest generator (pkg/kubevip/config_generator.go, the same from v1.2.3 to v1.2.4): the same
 * environment variables, capabilities and kubeconfig mount.
 *
 * With a LoadBalancer pool (kubernetes.loadBalancer) the same pod also serves LoadBalancer
 * services, kube-vip's "hybrid mode" in that generator (v1.2.3): `svc_enable` with `svc_leasename`,
 * and `vip_servicesinterface`, the interface service addresses go on instead of `vip_interface`
 * (pkg/instance/instance.go: the service's own annotation first, then ServicesInterface, then
 * Interface), here the external NIC. Without `svc_election` one control plane, the leader of the
 * `plndr-svcs-lock` lease, holds every service address (pkg/manager/worker/arp.go, StartServices:
 * GlobalLeader on ServicesLeaseName), each as a /32 (`vip_subnet`, cidrs[0] in instance.go),
 * announced by gratuitous ARP with the NIC's own MAC. kube-vip-cloud-provider (the cni stack)
 * picks each service's address from the pool. With one control plane there is no API VIP: the pod
 * then runs for the services alone (`cp_enable` and the VIP's variables left out; both
 * interfaces the external NIC).
 *
 * Two values are known only on the node, so the manifest is an Ansible template:
 * - the NICs' names (the playbook finds the interfaces holding the node's internal and external
 *   IPs, whatever the guest image calls them);
 * - the kubeconfig: on Kubernetes >= 1.29 the first control plane must use super-admin.conf while
 *   `kubeadm init` runs (admin.conf gets its RBAC only at the end of init), admin.conf after.
 */
import type { ClusterPlan } from "../config/plan";
import { jinja, jinjaTemplate, type JinjaExpression } from "./ansible";

export const KUBE_VIP_TEMPLATE_VARS = {
  interface: jinja("k8s_internal_interface"),
  servicesInterface: jinja("k8s_external_interface"),
  kubeconfig: jinja("kube_vip_kubeconfig"),
} as const;

/** kube-vip's own name for the services' lease (cmd/kube-vip.go, v1.2.3: servicesLeaseName's default). */
export const SERVICES_LEASE = "plndr-svcs-lock";

/**
 * The static pod manifest, or undefined when kube-vip has nothing to hold: no API VIP (one
 * control plane) and no LoadBalancer pool.
 */
export function renderKubeVipManifest(plan: ClusterPlan): string | undefined {
  const { vip, port } = plan.apiServer;
  const services = plan.loadBalancer !== undefined;
  if (!vip && !services) return undefined;
  const leaseTimes = {
    // kube-vip's own defaults (cmd/kube-vip.go, v1.2.3 and v1.2.4: leaseDuration 15, leaseRenewDuration 10,
    // leaseRetry 2): failover within ~15 s, without losing the lease to a slow API server.
    vip_leaseduration: "15",
    vip_renewdeadline: "10",
    vip_retryperiod: "2",
  };
  const servicesEnv = {
    vip_servicesinterface: KUBE_VIP_TEMPLATE_VARS.servicesInterface,
    svc_enable: "true",
    svc_leasename: SERVICES_LEASE,
  };
  const env: Record<string, string | JinjaExpression> = vip
    ? {
        vip_arp: "true",
        port: String(port),
        vip_interface: KUBE_VIP_TEMPLATE_VARS.interface,
        ...(services ? { vip_servicesinterface: servicesEnv.vip_servicesinterface } : {}),
        vip_subnet: "32",
        cp_enable: "true",
        cp_namespace: "kube-system",
        ...(services ? { svc_enable: servicesEnv.svc_enable, svc_leasename: servicesEnv.svc_leasename } : {}),
        vip_leaderelection: "true",
        vip_leasename: "plndr-cp-lock",
        ...leaseTimes,
        address: vip,
      }
    : {
        vip_arp: "true",
        vip_interface: KUBE_VIP_TEMPLATE_VARS.servicesInterface,
        vip_servicesinterface: servicesEnv.vip_servicesinterface,
        vip_subnet: "32",
        svc_enable: servicesEnv.svc_enable,
        svc_leasename: servicesEnv.svc_leasename,
        vip_leaderelection: "true",
        ...leaseTimes,
      };
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "kube-vip", namespace: "kube-system" },
    spec: {
      containers: [
        {
          name: "kube-vip",
          image: plan.config.kubernetes.apiServer.kubeVipImage,
          imagePullPolicy: "IfNotPresent",
          args: ["manager"],
          env: [
            ...Object.entries(env).map(([name, value]) => ({ name, value })),
            { name: "vip_nodename", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          ],
          securityContext: { capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] } },
          volumeMounts: [{ name: "kubeconfig", mountPath: "/etc/kubernetes/admin.conf" }],
        },
      ],
      hostAliases: [{ ip: "127.0.0.1", hostnames: ["kubernetes"] }],
      hostNetwork: true,
      volumes: [{ name: "kubeconfig", hostPath: { path: KUBE_VIP_TEMPLATE_VARS.kubeconfig } }],
    },
  };
  return jinjaTemplate(`# kube-vip static pod of ${plan.config.name} (generated by pve-dualnet; an Ansible template).`, [pod]);
}
