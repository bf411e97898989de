import { ClusterRoleBindingV1 } from "@cdktf/provider-kubernetes/lib/cluster-role-binding-v1";
import { ClusterRoleV1 } from "@cdktf/provider-kubernetes/lib/cluster-role-v1";
import { ConfigMapV1 } from "@cdktf/provider-kubernetes/lib/config-map-v1";
import type { DaemonSetV1Config } from "@cdktf/provider-kubernetes/lib/daemon-set-v1";
import { NamespaceV1 } from "@cdktf/provider-kubernetes/lib/namespace-v1";
import { ServiceAccountV1 } from "@cdktf/provider-kubernetes/lib/service-account-v1";
import type { TerraformElement } from "cdktf";
import { Construct } from "constructs";
import { fastSynth } from "../patches/cdktf-fast-synth";
import { PlainResource, type PlainSpec } from "./plain-resource";
import { FLANNEL_HEALTHZ_PORT, flannelCniConf, flanneldArgs, flannelNetConf, jsonText, type FlannelInputs } from "../renderers/flannel";
import { sha256 } from "./terraform-text";

export interface FlannelProps extends FlannelInputs {
  /**
   * Namespace for flannel.
   * @default kube-flannel
   */
  readonly namespace?: string;
}

const NAME = "flannel";

/*
 * The daemon set's binding is a quarter of the app's bundle, and its module defines hundreds of
 * classes when it loads (at every start, Flannel being the default CNI): the fast synth writes the daemon set
 * as a PlainResource from the same typed configuration, and only cdktf's own synth
 * (PVE_DUALNET_STOCK_SYNTH=1, and the fast synth's identity tests) loads the binding.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const daemonSetV1 = () => (require("@cdktf/provider-kubernetes/lib/daemon-set-v1") as typeof import("@cdktf/provider-kubernetes/lib/daemon-set-v1")).DaemonSetV1;

/**
 * Flannel as typed Kubernetes resources, equivalent to the upstream v0.28.9 manifest but
 * derived from the plan: namespace (privileged pod security), RBAC, config map, and the
 * daemon set on the host network with its two init containers.
 */
export class Flannel extends Construct {
  readonly namespace: NamespaceV1;
  readonly configMap: ConfigMapV1;
  /** The daemon set: a PlainResource in the fast synth, the binding's DaemonSetV1 in cdktf's own. */
  readonly daemonSet: TerraformElement;

  constructor(scope: Construct, id: string, props: FlannelProps) {
    super(scope, id);
    const f = props.settings;
    const namespaceName = props.namespace ?? "kube-flannel";
    const netConf = jsonText(flannelNetConf(props));
    const labels = { "k8s-app": NAME };
    const podLabels = { tier: "node", app: NAME };

    this.namespace = new NamespaceV1(this, "namespace", {
      metadata: { name: namespaceName, labels: { ...labels, "pod-security.kubernetes.io/enforce": "privileged" } },
    });
    const namespace = this.namespace.metadata.name;

    const serviceAccount = new ServiceAccountV1(this, "service-account", { metadata: { name: NAME, namespace, labels } });
    const role = new ClusterRoleV1(this, "cluster-role", {
      metadata: { name: NAME, labels },
      rule: [
        { apiGroups: [""], resources: ["pods"], verbs: ["get"] },
        { apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "watch"] },
        { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch"] },
      ],
    });
    new ClusterRoleBindingV1(this, "cluster-role-binding", {
      metadata: { name: NAME, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
      subject: [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace }],
    });

    this.configMap = new ConfigMapV1(this, "config", {
      metadata: { name: "kube-flannel-cfg", namespace, labels: { ...podLabels, ...labels } },
      data: {
        "cni-conf.json": jsonText(flannelCniConf()),
        "net-conf.json": netConf,
      },
    });

    const mount = (name: string, mountPath: string) => ({ name, mountPath });
    const daemonSet: DaemonSetV1Config = {
      metadata: { name: "kube-flannel-ds", namespace, labels: { ...podLabels, ...labels } },
      spec: {
        selector: { matchLabels: { app: NAME } },
        template: {
          metadata: {
            labels: podLabels,
            // Roll the pods when the network configuration changes (flannel reads it only at start).
            annotations: { "pve-dualnet/net-conf-sha256": sha256(netConf).slice(0, 16) },
          },
          spec: {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerm: [{ matchExpressions: [{ key: "kubernetes.io/os", operator: "In", values: ["linux"] }] }],
                },
              },
            },
            hostNetwork: true,
            priorityClassName: "system-node-critical",
            toleration: [{ operator: "Exists", effect: "NoSchedule" }],
            serviceAccountName: serviceAccount.metadata.name,
            initContainer: [
              {
                name: "install-cni-plugin",
                image: f.cniPluginImage,
                command: ["cp"],
                args: ["-f", "/flannel", "/opt/cni/bin/flannel"],
                volumeMount: [mount("cni-plugin", "/opt/cni/bin")],
              },
              {
                name: "install-cni",
                image: f.image,
                command: ["/opt/bin/install-conf"],
                args: ["/etc/kube-flannel/cni-conf.json", "/etc/cni/net.d/10-flannel.conflist"],
                volumeMount: [mount("cni", "/etc/cni/net.d"), mount("flannel-cfg", "/etc/kube-flannel/")],
              },
            ],
            container: [
              {
                name: "kube-flannel",
                image: f.image,
                command: ["/opt/bin/flanneld"],
                args: flanneldArgs(props),
                port: [{ name: "healthz", containerPort: FLANNEL_HEALTHZ_PORT, protocol: "TCP" }],
                livenessProbe: { httpGet: { path: "/healthz", port: "healthz" }, initialDelaySeconds: 10, periodSeconds: 30 },
                readinessProbe: { httpGet: { path: "/readyz", port: "healthz" }, initialDelaySeconds: 5, periodSeconds: 10 },
                resources: { requests: { cpu: "100m", memory: "50Mi" } },
                securityContext: { privileged: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
                env: [
                  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                  { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                  { name: "EVENT_QUEUE_DEPTH", value: "5000" },
                  { name: "CONT_WHEN_CACHE_NOT_READY", value: "false" },
                ],
                volumeMount: [mount("run", "/run/flannel"), mount("flannel-cfg", "/etc/kube-flannel/"), mount("xtables-lock", "/run/xtables.lock")],
              },
            ],
            volume: [
              { name: "run", hostPath: { path: "/run/flannel" } },
              { name: "cni-plugin", hostPath: { path: "/opt/cni/bin" } },
              { name: "cni", hostPath: { path: "/etc/cni/net.d" } },
              { name: "flannel-cfg", configMap: { name: this.configMap.metadata.name } },
              { name: "xtables-lock", hostPath: { path: "/run/xtables.lock", type: "FileOrCreate" } },
            ],
          },
        },
      },
    };
    this.daemonSet = fastSynth()
      ? new PlainResource(this, "daemon-set", { type: "kubernetes_daemon_set_v1", config: daemonSet, spec: DAEMON_SET_SPEC })
      : new (daemonSetV1())(this, "daemon-set", daemonSet);
  }
}

/** The Terraform names of what Flannel sets on its daemon set, as the binding writes them (@cdktf/provider-kubernetes lib/daemon-set-v1). */
const MOUNT: PlainSpec = { name: "name", mountPath: "mount_path" };
const CONTAINER: PlainSpec = {
  name: "name",
  image: "image",
  command: "command",
  args: "args",
  volumeMount: ["volume_mount", MOUNT, "list"],
  port: ["port", { name: "name", containerPort: "container_port", protocol: "protocol" }, "list"],
  livenessProbe: ["liveness_probe", { httpGet: ["http_get", { path: "path", port: "port" }], initialDelaySeconds: "initial_delay_seconds", periodSeconds: "period_seconds" }],
  readinessProbe: ["readiness_probe", { httpGet: ["http_get", { path: "path", port: "port" }], initialDelaySeconds: "initial_delay_seconds", periodSeconds: "period_seconds" }],
  resources: ["resources", { requests: "requests", limits: "limits" }],
  securityContext: ["security_context", { privileged: "privileged", capabilities: ["capabilities", { add: "add", drop: "drop" }] }],
  env: ["env", { name: "name", value: "value", valueFrom: ["value_from", { fieldRef: ["field_ref", { fieldPath: "field_path" }] }] }, "list"],
};
const METADATA: PlainSpec = { name: "name", namespace: "namespace", labels: "labels", annotations: "annotations" };
const DAEMON_SET_SPEC: PlainSpec = {
  metadata: ["metadata", METADATA],
  spec: [
    "spec",
    {
      selector: ["selector", { matchLabels: "match_labels" }],
      template: [
        "template",
        {
          metadata: ["metadata", METADATA],
          spec: [
            "spec",
            {
              affinity: [
                "affinity",
                {
                  nodeAffinity: [
                    "node_affinity",
                    {
                      requiredDuringSchedulingIgnoredDuringExecution: [
                        "required_during_scheduling_ignored_during_execution",
                        { nodeSelectorTerm: ["node_selector_term", { matchExpressions: ["match_expressions", { key: "key", operator: "operator", values: "values" }, "list"] }, "list"] },
                      ],
                    },
                  ],
                },
              ],
              hostNetwork: "host_network",
              priorityClassName: "priority_class_name",
              toleration: ["toleration", { operator: "operator", effect: "effect", key: "key" }, "list"],
              serviceAccountName: "service_account_name",
              initContainer: ["init_container", CONTAINER, "list"],
              container: ["container", CONTAINER, "list"],
              volume: ["volume", { name: "name", hostPath: ["host_path", { path: "path", type: "type" }], configMap: ["config_map", { name: "name" }] }, "list"],
            },
          ],
        },
      ],
    },
  ],
};
