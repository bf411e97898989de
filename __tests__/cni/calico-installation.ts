/**
 * The Tigera operator's validation of an Installation's calicoNetwork, transcribed from
 * tigera/operator pkg/controller/installation/validation.go (validateCustomResource, commit
 * 94d54b85), for the Calico CNI with Calico IPAM (the operator's defaults here):
 * - at most two pools, one per family ("only one IPPool per version is allowed");
 * - IPv4 pool: encapsulation IPIP, IPIPCrossSubnet, VXLAN, VXLANCrossSubnet or None, IP-in-IP and
 *   None only with BGP enabled; blockSize 20 to 32, not shorter than the pool's prefix;
 * - IPv6 pool: "IPIP encapsulation is not supported by IPv6 pools"; blockSize 116 to 128, not
 *   shorter than the pool's prefix;
 * - both: natOutgoing Enabled or Disabled, a nodeSelector;
 * - node address autodetection: "no more than one node address autodetection method can be
 *   specified per-family" (the fields of NodeAddressAutodetection: firstFound, kubernetes,
 *   interface, skipInterface, canReach, cidrs).
 */
import ipaddr from "ipaddr.js";

const ENCAPSULATIONS = ["IPIP", "IPIPCrossSubnet", "VXLAN", "VXLANCrossSubnet", "None"];
const AUTODETECTION_KEYS = ["firstFound", "kubernetes", "interface", "skipInterface", "canReach", "cidrs"];

/** What the operator would refuse in spec.calicoNetwork. */
export function calicoNetworkProblems(network: Record<string, any>): string[] {
  const problems: string[] = [];
  const pools: any[] = network.ipPools ?? [];
  const kind = (pool: any) => {
    try {
      return ipaddr.parseCIDR(pool.cidr)[0].kind();
    } catch {
      problems.push(`ipPool.CIDR(${pool.cidr}) is invalid`);
      return undefined;
    }
  };
  const kinds = pools.map(kind);
  if (pools.length > 2 || new Set(kinds).size !== kinds.length) problems.push("only one IPPool per version is allowed");
  const bgp = network.bgp === "Enabled";
  pools.forEach((pool, i) => {
    const six = kinds[i] === "ipv6";
    if (!ENCAPSULATIONS.includes(pool.encapsulation)) problems.push(`${pool.encapsulation} is invalid for ipPool.encapsulation`);
    if (six && pool.encapsulation.startsWith("IPIP")) problems.push(`IPIP encapsulation is not supported by IPv6 pools, but it is set for ${pool.cidr}`);
    if (!six && pool.encapsulation.startsWith("IPIP") && !bgp) problems.push("IPIP encapsulation requires that BGP is enabled");
    if (!six && pool.encapsulation === "None" && !bgp) problems.push("Unencapsulated IP pools require that BGP is enabled");
    if (!["Enabled", "Disabled"].includes(pool.natOutgoing)) problems.push(`${pool.natOutgoing} is invalid for ipPool.natOutgoing`);
    if (!pool.nodeSelector) problems.push("ipPool.nodeSelector should not be empty");
    if (pool.blockSize !== undefined && kinds[i]) {
      const [min, max] = six ? [116, 128] : [20, 32];
      if (pool.blockSize > max || pool.blockSize < min) problems.push(`ipPool.blockSize must be greater than ${min - 1} and less than or equal to ${max}`);
      else if (ipaddr.parseCIDR(pool.cidr)[1] > pool.blockSize) problems.push("IP pool size is too small. It must be equal to or greater than the block size.");
    }
  });
  for (const key of ["nodeAddressAutodetectionV4", "nodeAddressAutodetectionV6"]) {
    const method = network[key];
    if (!method) continue;
    const unknown = Object.keys(method).filter((k) => !AUTODETECTION_KEYS.includes(k));
    if (unknown.length) problems.push(`${key}: unknown field ${unknown.join(", ")}`);
    if (Object.keys(method).length > 1) problems.push(`${key}: no more than one node address autodetection method can be specified per-family`);
  }
  return problems;
}
