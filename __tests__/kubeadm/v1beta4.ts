/**
 * The kubeadm.k8s.io/v1beta4 configuration API as a strict schema, for checking rendered
 * kubeadm files without kubeadm (no Debian package has it). Transcribed field by field from
 * kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go (commit 13299357, the
 * version that has Timeouts, Proxy and EncryptionAlgorithm, i.e. Kubernetes >= 1.31), with the
 * JSON names of the struct tags; embedded core types (Taint, EnvVar, BootstrapToken) keep only
 * the fields their own types.go defines. Every object is strict: a field kubeadm does not know is
 * an error, as a typo in a rendered file must be. Value rules kubeadm itself checks at load time
 * (cmd/kubeadm/app/apis/kubeadm/validation) are added where the renderer could get them wrong:
 * controlPlaneEndpoint and apiServerEndpoint as host[:port], certificate keys as 32-byte hex,
 * CA pins as sha256:<hex>, tokens as [a-z0-9]{6}.[a-z0-9]{16}.
 *
 * KubeletConfiguration (kubelet.config.k8s.io/v1beta1) is checked for the fields pve-dualnet sets.
 *
 * Networking, as kubeadm validates it (validation.go ValidateNetworking, at kubernetes/kubernetes
 * 00d24de6): podSubnet and serviceSubnet are one CIDR or a comma-separated pair of one IPv4 and
 * one IPv6 CIDR ("expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack
 * networking"), each with at least 10 service or 14 pod addresses (constants.go
 * MinimumAddressesInServiceSubnet, MinimumAddressesInPodSubnet), a service subnet of at most 20
 * host bits (MaximumBitsForServiceSubnet), and a pod subnet that holds the node mask of its family
 * (ValidatePodSubnetNodeMask: kube-controller-manager's node-cidr-mask-size-ipv4/-ipv6, default
 * 24/64, at most 16 bits longer: PodSubnetNodeMaskMaxDiff). kube-controller-manager's own rule is
 * added: "usage of --node-cidr-mask-size is not allowed with dual-stack clusters" (nodeipam).
 * The kubelet's node-ip is checked as its parser takes it (parseNodeIP: "must contain either a
 * single IP or a dual-stack pair of IPs"), strictly: the kubelet logs and ignores an address it
 * cannot parse, which would silently drop a family.
 */
import ipaddr from "ipaddr.js";
import { z } from "zod";

const duration = z.string().regex(/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/, { message: "must be a Go duration such as 4m0s" });
const hostPort = z.string().regex(/^([a-zA-Z0-9.-]+|\[[0-9a-fA-F:]+\])(:\d{1,5})?$/, { message: "must be host[:port]" });
const arg = z.strictObject({ name: z.string().min(1), value: z.string() });
const envVar = z.strictObject({ name: z.string().min(1), value: z.string().optional(), valueFrom: z.record(z.string(), z.unknown()).optional() });
const hostPathMount = z.strictObject({
  name: z.string(),
  hostPath: z.string(),
  mountPath: z.string(),
  readOnly: z.boolean().optional(),
  pathType: z.string().optional(),
});
const controlPlaneComponent = {
  extraArgs: z.array(arg).optional(),
  extraVolumes: z.array(hostPathMount).optional(),
  extraEnvs: z.array(envVar).optional(),
};
const imageMeta = { imageRepository: z.string().optional(), imageTag: z.string().optional() };
const apiEndpoint = z.strictObject({ advertiseAddress: z.ipv4().or(z.ipv6()).optional(), bindPort: z.number().int().min(1).max(65535).optional() });
// core/v1 Taint
const taint = z.strictObject({ key: z.string().min(1), value: z.string().optional(), effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]), timeAdded: z.string().optional() });
const nodeRegistration = z.strictObject({
  name: z.string().optional(),
  criSocket: z.string().regex(/^unix:\/\/\//, { message: "must be a unix:/// socket URL" }).optional(),
  taints: z.array(taint).nullable().optional(),
  kubeletExtraArgs: z.array(arg).optional(),
  ignorePreflightErrors: z.array(z.string()).optional(),
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
  imagePullSerial: z.boolean().optional(),
});
const patches = z.strictObject({ directory: z.string().optional() });
const timeouts = z.strictObject({
  controlPlaneComponentHealthCheck: duration.optional(),
  kubeletHealthCheck: duration.optional(),
  kubernetesAPICall: duration.optional(),
  etcdAPICall: duration.optional(),
  tlsBootstrap: duration.optional(),
  discovery: duration.optional(),
  upgradeManifests: duration.optional(),
});
const token = z.string().regex(/^[a-z0-9]{6}\.[a-z0-9]{16}$/, { message: "must be a bootstrap token [a-z0-9]{6}.[a-z0-9]{16}" });
const certificateKey = z.string().regex(/^[0-9a-f]{64}$/, { message: "must be a hex-encoded 32-byte key" });
// bootstraptoken/v1 BootstrapToken
const bootstrapToken = z.strictObject({
  token,
  description: z.string().optional(),
  ttl: duration.optional(),
  expires: z.string().optional(),
  usages: z.array(z.string()).optional(),
  groups: z.array(z.string()).optional(),
});

export const initConfiguration = z.strictObject({
  apiVersion: z.literal("kubeadm.k8s.io/v1beta4"),
  kind: z.literal("InitConfiguration"),
  bootstrapTokens: z.array(bootstrapToken).optional(),
  dryRun: z.boolean().optional(),
  nodeRegistration: nodeRegistration.optional(),
  localAPIEndpoint: apiEndpoint.optional(),
  certificateKey: certificateKey.optional(),
  skipPhases: z.array(z.string()).optional(),
  patches: patches.optional(),
  timeouts: timeouts.optional(),
});

export const clusterConfiguration = z.strictObject({
  apiVersion: z.literal("kubeadm.k8s.io/v1beta4"),
  kind: z.literal("ClusterConfiguration"),
  etcd: z
    .strictObject({
      local: z
        .strictObject({
          ...imageMeta,
          dataDir: z.string().optional(),
          extraArgs: z.array(arg).optional(),
          extraEnvs: z.array(envVar).optional(),
          serverCertSANs: z.array(z.string()).optional(),
          peerCertSANs: z.array(z.string()).optional(),
        })
        .optional(),
      external: z.strictObject({ endpoints: z.array(z.string()), caFile: z.string(), certFile: z.string(), keyFile: z.string() }).optional(),
    })
    .optional(),
  networking: z.strictObject({ serviceSubnet: z.string().optional(), podSubnet: z.string().optional(), dnsDomain: z.string().optional() }).optional(),
  kubernetesVersion: z.string().regex(/^v\d+\.\d+\.\d+$/, { message: "must be vMAJOR.MINOR.PATCH" }).optional(),
  controlPlaneEndpoint: hostPort.optional(),
  apiServer: z.strictObject({ ...controlPlaneComponent, certSANs: z.array(z.string().min(1)).optional() }).optional(),
  controllerManager: z.strictObject(controlPlaneComponent).optional(),
  scheduler: z.strictObject(controlPlaneComponent).optional(),
  dns: z.strictObject({ ...imageMeta, disabled: z.boolean().optional() }).optional(),
  proxy: z.strictObject({ disabled: z.boolean().optional() }).optional(),
  certificatesDir: z.string().optional(),
  imageRepository: z.string().optional(),
  featureGates: z.record(z.string(), z.boolean()).optional(),
  clusterName: z.string().optional(),
  encryptionAlgorithm: z.enum(["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256"]).optional(),
  certificateValidityPeriod: duration.optional(),
  caCertificateValidityPeriod: duration.optional(),
});

export const joinConfiguration = z.strictObject({
  apiVersion: z.literal("kubeadm.k8s.io/v1beta4"),
  kind: z.literal("JoinConfiguration"),
  dryRun: z.boolean().optional(),
  nodeRegistration: nodeRegistration.optional(),
  caCertPath: z.string().optional(),
  discovery: z
    .strictObject({
      bootstrapToken: z
        .strictObject({
          token,
          apiServerEndpoint: hostPort.optional(),
          caCertHashes: z.array(z.string().regex(/^sha256:[0-9a-f]{64}$/, { message: "must be sha256:<64 hex digits>" })).optional(),
          unsafeSkipCAVerification: z.boolean().optional(),
        })
        .optional(),
      file: z.strictObject({ kubeConfigPath: z.string() }).optional(),
      tlsBootstrapToken: z.string().optional(),
    })
    .refine((d) => Boolean(d.bootstrapToken) !== Boolean(d.file), { message: "exactly one of bootstrapToken and file" }),
  controlPlane: z.strictObject({ localAPIEndpoint: apiEndpoint.optional(), certificateKey: certificateKey.optional() }).optional(),
  skipPhases: z.array(z.string()).optional(),
  patches: patches.optional(),
  timeouts: timeouts.optional(),
});

export const kubeletConfiguration = z.strictObject({
  apiVersion: z.literal("kubelet.config.k8s.io/v1beta1"),
  kind: z.literal("KubeletConfiguration"),
  cgroupDriver: z.enum(["systemd", "cgroupfs"]).optional(),
});

const byKind: Record<string, z.ZodType> = {
  InitConfiguration: initConfiguration,
  ClusterConfiguration: clusterConfiguration,
  JoinConfiguration: joinConfiguration,
  KubeletConfiguration: kubeletConfiguration,
};

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];
const parseCidrs = (text: string): Cidr[] | undefined => {
  try {
    return text.split(",").map((part) => ipaddr.parseCIDR(part));
  } catch {
    return undefined;
  }
};
const hostBits = ([ip, prefix]: Cidr) => (ip.kind() === "ipv6" ? 128 : 32) - prefix;

/** validation.go ValidateIPNetFromString: one CIDR, or one of each family; each with at least minAddresses. */
function ipNetProblems(text: string, minAddresses: number): string[] {
  const cidrs = parseCidrs(text);
  if (!cidrs) return [`${text}: couldn't parse subnet`];
  const problems: string[] = [];
  if (cidrs.length > 2 || (cidrs.length === 2 && cidrs[0]![0].kind() === cidrs[1]![0].kind()))
    problems.push(`${text}: expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking`);
  for (const cidr of cidrs) if (hostBits(cidr) < 31 && 2 ** hostBits(cidr) < minAddresses) problems.push(`${cidr.join("/")}: subnet with ${2 ** hostBits(cidr)} address(es) is too small, the minimum is ${minAddresses}`);
  return problems;
}

/** ValidateNetworking's subnet rules and kube-controller-manager's mask flags (see the header). */
function networkingProblems(document: any): string[] {
  const networking = document.networking ?? {};
  const args: { name: string; value: string }[] = document.controllerManager?.extraArgs ?? [];
  const arg = (name: string) => args.find((a) => a.name === name)?.value;
  const problems: string[] = [];
  if (networking.serviceSubnet !== undefined) {
    const service = ipNetProblems(networking.serviceSubnet, 10);
    problems.push(...service.map((p) => `networking.serviceSubnet: ${p}`));
    if (!service.length)
      for (const cidr of parseCidrs(networking.serviceSubnet)!)
        if (hostBits(cidr) > 20) problems.push(`networking.serviceSubnet: ${cidr.join("/")}: specified service subnet is too large; for ${cidr[0].kind() === "ipv6" ? 128 : 32}-bit addresses, the mask must be >= ${(cidr[0].kind() === "ipv6" ? 128 : 32) - 20}`);
  }
  if (networking.podSubnet !== undefined) {
    const pod = ipNetProblems(networking.podSubnet, 14);
    problems.push(...pod.map((p) => `networking.podSubnet: ${p}`));
    if (!pod.length) {
      const cidrs = parseCidrs(networking.podSubnet)!;
      for (const cidr of cidrs) {
        const six = cidr[0].kind() === "ipv6";
        const flag = six ? "node-cidr-mask-size-ipv6" : "node-cidr-mask-size-ipv4";
        const nodeMask = Number(arg(flag) ?? (six ? 64 : 24));
        if (!Number.isInteger(nodeMask)) problems.push(`controllerManager.extraArgs: ${flag} is not an integer`);
        else if (cidr[1] > nodeMask) problems.push(`networking.podSubnet: ${cidr.join("/")}: the size of pod subnet with mask ${cidr[1]} is smaller than the size of node subnet with mask ${nodeMask}`);
        else if (nodeMask - cidr[1] > 16) problems.push(`networking.podSubnet: ${cidr.join("/")}: pod subnet mask (${cidr[1]}) and node-mask (${nodeMask}) difference is greater than 16`);
      }
      if (cidrs.length === 2 && arg("node-cidr-mask-size") !== undefined) problems.push("controllerManager.extraArgs: usage of --node-cidr-mask-size is not allowed with dual-stack clusters");
    }
  }
  return problems.map((p) => `ClusterConfiguration.${p}`);
}

/** The kubelet's --node-ip among nodeRegistration.kubeletExtraArgs, parsed strictly (see the header). */
function nodeIpProblems(document: any): string[] {
  const value: string | undefined = document.nodeRegistration?.kubeletExtraArgs?.find((a: { name: string }) => a.name === "node-ip")?.value;
  if (value === undefined) return [];
  const ips = value.split(",").map((part) => part.trim());
  const where = `${document.kind}.nodeRegistration.kubeletExtraArgs.node-ip`;
  const bad = ips.filter((ip) => !ipaddr.isValid(ip));
  if (bad.length) return bad.map((ip) => `${where}: could not parse ${JSON.stringify(ip)} (the kubelet ignores it)`);
  const kinds = ips.map((ip) => ipaddr.parse(ip).kind());
  if (ips.length > 2 || (ips.length === 2 && kinds[0] === kinds[1])) return [`${where}: must contain either a single IP or a dual-stack pair of IPs`];
  if (ips.length === 2 && ips.some((ip) => ipaddr.parse(ip).range() === "unspecified")) return [`${where}: dual-stack node IP cannot include '0.0.0.0' or '::'`];
  return [];
}

/** Every problem of a kubeadm config document, as "kind.path: message". */
export function kubeadmProblems(document: any): string[] {
  const schema = byKind[document?.kind];
  if (!schema) return [`unknown kind ${JSON.stringify(document?.kind)}`];
  const result = schema.safeParse(document);
  if (!result.success) return result.error.issues.map((i) => `${document.kind}.${i.path.join(".")}: ${i.message}`);
  return document.kind === "ClusterConfiguration" ? networkingProblems(document) : nodeIpProblems(document);
}
