/**
 * Cilium's Helm values (renderers/cilium.ts) judged by the chart they are for: every key the
 * project sets is a key of the chart's values.yaml at the pinned version, of the type its
 * values.schema.json gives, with a value the chart's templates accept. Transcribed from the chart
 * cilium-1.20.0.tgz (cilium/charts; install/kubernetes/cilium of cilium/cilium at v1.20.0):
 * values.schema.json (draft-07; types only, no closed objects - so a misspelt key would pass
 * Helm silently, which is why the key paths are checked here), the values' comments ("Possible
 * values"), and templates/cilium-configmap.yaml (kubeProxyReplacement "must be explicitly set to
 * a valid value (true or false)"; "ipv4NativeRoutingCIDR must be set when routingMode is native").
 */
import { parse } from "yaml";
import { CILIUM_VERSION } from "../config/schema";
import { ciliumHelmValues, ciliumValuesYaml, CILIUM_CHART_VERSION } from "../renderers/cilium";
import { planFrom, planWith } from "./helpers";

type Check = (value: unknown) => boolean;
const type = (...types: ("string" | "integer" | "boolean" | "array" | "null")[]): Check => (value) =>
  types.some((t) => (t === "integer" ? Number.isInteger(value) : t === "array" ? Array.isArray(value) : t === "null" ? value === null : typeof value === t));
const both = (a: Check, b: Check): Check => (value) => a(value) && b(value);
const oneOf = (...allowed: unknown[]): Check => (value) => allowed.includes(value);

/** The chart's keys the project sets: values.schema.json's type, and what the templates accept. */
const CHART_1_20_0: Record<string, Check> = {
  "image.override": type("null", "string"),
  "operator.image.override": type("null", "string"),
  "operator.replicas": both(type("integer"), (v) => (v as number) >= 1),
  k8sServiceHost: both(type("string"), (v) => /^\d{1,3}(\.\d{1,3}){3}$/.test(v as string)),
  k8sServicePort: type("string", "integer"),
  // The configmap template: "kubeProxyReplacement must be explicitly set to a valid value (true or false)".
  kubeProxyReplacement: both(type("string", "boolean"), (v) => ["true", "false"].includes(String(v))),
  // values.yaml: "Possible values: "", native, tunnel" and "Possible values: "", vxlan, geneve".
  routingMode: both(type("string"), oneOf("native", "tunnel")),
  tunnelProtocol: both(type("string"), oneOf("vxlan", "geneve")),
  autoDirectNodeRoutes: type("boolean", "string"),
  ipv4NativeRoutingCIDR: both(type("string"), (v) => /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(v as string)),
  "ipam.mode": both(type("string"), oneOf("kubernetes")),
  MTU: type("integer"),
  devices: type("null", "string", "array"),
  enableIPv4Masquerade: type("null", "boolean"),
  "hubble.enabled": type("boolean"),
  // Dual-stack: values.schema.json ipv6.enabled boolean, ipv6NativeRoutingCIDR string,
  // enableIPv6Masquerade boolean, underlayProtocol string with values.yaml's "Possible values:
  // "ipv4", "ipv6", "auto"".
  "ipv6.enabled": type("boolean"),
  ipv6NativeRoutingCIDR: both(type("string"), (v) => /^[0-9a-f:]+\/\d{1,3}$/.test(v as string)),
  enableIPv6Masquerade: type("boolean"),
  underlayProtocol: both(type("string"), oneOf("ipv4", "ipv6", "auto")),
};

/** Every leaf of the values as dotted paths (arrays are leaves). */
const leaves = (value: unknown, prefix = ""): [string, unknown][] =>
  value && typeof value === "object" && !Array.isArray(value)
    ? Object.entries(value).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k))
    : [[prefix, value]];

/** What the chart would refuse or ignore in these values. */
export function chartProblems(values: Record<string, unknown>): string[] {
  const problems = leaves(values).flatMap(([path, value]) => {
    const check = CHART_1_20_0[path];
    if (!check) return [`${path}: not a value of the cilium ${CILIUM_CHART_VERSION} chart the project sets`];
    return check(value) ? [] : [`${path}: ${JSON.stringify(value)} is not what the chart takes`];
  });
  if (values.routingMode === "native" && values.enableIPv4Masquerade !== false && !values.ipv4NativeRoutingCIDR) problems.push("ipv4NativeRoutingCIDR must be set when routingMode is native");
  // The configmap template, at 1.20.0: "ipv6NativeRoutingCIDR must be set when routingMode is native"
  // when ipv6.enabled and enableIPv6Masquerade (its default true).
  const ipv6 = values.ipv6 as { enabled?: boolean } | undefined;
  if (values.routingMode === "native" && ipv6?.enabled && values.enableIPv6Masquerade !== false && !values.ipv6NativeRoutingCIDR) problems.push("ipv6NativeRoutingCIDR must be set when routingMode is native");
  return problems;
}

const cilium = (settings: Record<string, unknown>, edit: (c: any) => void = () => {}) => (c: any) => ((c.kubernetes.cni = { plugin: "cilium", cilium: settings }), edit(c));
const pinned = (c: any) => (c.vmDefaults.cloudInit.networkData = { enabled: true });

const SETTINGS = (["tunnel", "native"] as const).flatMap((routingMode) =>
  (["vxlan", "geneve"] as const).flatMap((tunnelProtocol) =>
    [false, true].flatMap((hubble) =>
      [false, true].flatMap((kubeProxyReplacement) =>
        [false, true].map((names): [string, (c: any) => void] => [
          `${routingMode} ${tunnelProtocol} hubble ${hubble} kubeProxyReplacement ${kubeProxyReplacement} names ${names ? "pinned" : "free"}`,
          cilium({ routingMode, tunnelProtocol, hubble, kubeProxyReplacement }, names ? pinned : () => {}),
        ]),
      ),
    ),
  ),
);

describe(`Cilium ${CILIUM_VERSION} Helm values`, () => {
  it.each(SETTINGS)("%s: the chart takes every value", (_name, edit) => {
    expect(chartProblems(ciliumHelmValues(planWith(edit)))).toEqual([]);
  });

  it("the check can fail: a misspelt key, a wrong type, a value the templates refuse, native routing without its CIDR", () => {
    const values = ciliumHelmValues(planWith(cilium({})));
    expect(chartProblems({ ...values, tunnelProtocl: "vxlan" })).toEqual(["tunnelProtocl: not a value of the cilium 1.20.0 chart the project sets"]);
    expect(chartProblems({ ...values, MTU: "1500" })).toEqual(['MTU: "1500" is not what the chart takes']);
    expect(chartProblems({ ...values, kubeProxyReplacement: "partial" })).toEqual(['kubeProxyReplacement: "partial" is not what the chart takes']);
    expect(chartProblems({ ...values, routingMode: "native" })).toEqual(["ipv4NativeRoutingCIDR must be set when routingMode is native"]);
    expect(chartProblems({ ...values, ipam: { mode: "cluster-pool" } })).toEqual(['ipam.mode: "cluster-pool" is not what the chart takes']);
  });

  it("pins Cilium to the internal network: the API endpoint, the MTU of the plan, the internal NIC, the pod network from the nodes' PodCIDRs", () => {
    const plan = planWith(cilium({}, pinned));
    expect(ciliumHelmValues(plan)).toEqual({
      image: { override: "quay.io/cilium/cilium:v1.20.0" },
      operator: { image: { override: "quay.io/cilium/operator-generic:v1.20.0" }, replicas: 2 },
      k8sServiceHost: plan.apiServer.host,
      k8sServicePort: 6443,
      kubeProxyReplacement: "false",
      routingMode: "tunnel",
      tunnelProtocol: "vxlan",
      ipam: { mode: "kubernetes" },
      MTU: 1500,
      devices: ["eth1"],
      enableIPv4Masquerade: true,
      hubble: { enabled: false },
    });
    // The VIP with HA control planes, on the internal network.
    expect(plan.apiServer.host).toBe("10.0.0.10");
    // Jumbo frames: the underlay MTU Cilium subtracts its 50 bytes from.
    const jumbo = planWith(cilium({}, (c) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true })));
    expect([ciliumHelmValues(jumbo).MTU, jumbo.mtu.overlay]).toEqual([9000, 8950]);
  });

  it("routes natively only with direct node routes over the pod network, and one operator on a one-node cluster", () => {
    const values = ciliumHelmValues(planWith(cilium({ routingMode: "native", kubeProxyReplacement: true })));
    expect(values).toMatchObject({ routingMode: "native", autoDirectNodeRoutes: true, ipv4NativeRoutingCIDR: "10.244.0.0/16", kubeProxyReplacement: "true", MTU: 1500 });
    expect(values).not.toHaveProperty("tunnelProtocol");
    const single = planWith(cilium({}, (c) => (c.vms = c.vms.filter((vm: any) => vm.role === "control-plane").slice(0, 1))));
    expect(ciliumHelmValues(single)).toMatchObject({ operator: { replicas: 1 }, k8sServiceHost: single.vms[0]!.nics[1].ip });
  });

  describe("dual-stack (examples/dual-stack.yaml with Cilium)", () => {
    const dual = (settings: Record<string, unknown>) => planFrom("examples/dual-stack.yaml", (c) => (c.kubernetes.cni = { plugin: "cilium", cilium: settings }));

    it.each(["tunnel", "native"])("%s: the chart takes every value", (routingMode) => {
      expect(chartProblems(ciliumHelmValues(dual({ routingMode })))).toEqual([]);
    });

    it("enables IPv6 from the nodes' IPv6 PodCIDRs, masquerades it like IPv4, and tunnels both families over IPv4", () => {
      const values = ciliumHelmValues(dual({}));
      expect(values).toMatchObject({ ipv6: { enabled: true }, underlayProtocol: "ipv4", enableIPv6Masquerade: true, ipam: { mode: "kubernetes" }, MTU: 1500 });
      // IPv4 underlay: the same 50 bytes for IPv6 pods (Cilium's TunnelOverheadIPv4).
      expect(dual({}).mtu).toMatchObject({ overhead: 50, overheadByFamily: { ipv4: 50, ipv6: 50 }, overlay: 1450 });
      expect(ciliumHelmValues(dual({ routingMode: "native" }))).toMatchObject({ ipv4NativeRoutingCIDR: "10.244.0.0/16", ipv6NativeRoutingCIDR: "fd00:10:244::/56" });
      expect(ciliumHelmValues(dual({ routingMode: "native" }))).not.toHaveProperty("underlayProtocol");
    });

    it("the check can fail: native routing without the IPv6 CIDR, an underlay the chart does not know", () => {
      const native = ciliumHelmValues(dual({ routingMode: "native" }));
      delete native.ipv6NativeRoutingCIDR;
      expect(chartProblems(native)).toEqual(["ipv6NativeRoutingCIDR must be set when routingMode is native"]);
      expect(chartProblems({ ...ciliumHelmValues(dual({})), underlayProtocol: "ip6" })).toEqual(['underlayProtocol: "ip6" is not what the chart takes']);
    });
  });

  it("writes the values as one YAML document that reads back as the same values (what the release hands to Helm)", () => {
    const plan = planWith(cilium({ hubble: true }));
    expect(parse(ciliumValuesYaml(plan))).toEqual(ciliumHelmValues(plan));
  });
});
