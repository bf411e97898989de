/** IPv4 subnet arithmetic on top of ipaddr.js (parsing and matching are its job, not ours). */
import ipaddr from "ipaddr.js";

export interface Subnet {
  /** Canonical network address, e.g. 10.0.0.0 */
  readonly network: string;
  readonly prefix: number;
  /** `network/prefix` */
  readonly cidr: string;
}

export function parseSubnet(cidr: string): Subnet {
  const [, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  const network = ipaddr.IPv4.networkAddressFromCIDR(cidr).toString();
  return { network, prefix, cidr: `${network}/${prefix}` };
}

/** True when `cidr` has no host bits set (10.0.0.0/24, not 10.0.0.5/24). */
export function isCanonicalSubnet(cidr: string): boolean {
  return parseSubnet(cidr).cidr === cidr;
}

export function contains(subnet: Subnet, ip: string): boolean {
  return ipaddr.IPv4.parse(ip).match(ipaddr.IPv4.parse(subnet.network), subnet.prefix);
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return contains(a, b.network) || contains(b, a.network);
}

/** The subnet's own network or broadcast address: not usable by a host. */
export function isReservedAddress(subnet: Subnet, ip: string): boolean {
  if (subnet.prefix >= 31) return false;
  const broadcast = ipaddr.IPv4.broadcastAddressFromCIDR(subnet.cidr).toString();
  return ip === subnet.network || ip === broadcast;
}

/** The subnet's address number `n` (0 is the network address): 10.0.0.0/24, 10 -> 10.0.0.10. */
export function nthAddress(subnet: Subnet, n: number): string {
  const bytes = ipaddr.IPv4.parse(subnet.network).toByteArray();
  const value = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) + n;
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join(".");
}

/** How many addresses the subnet spans. */
export function subnetSize(subnet: Subnet): number {
  return 2 ** (32 - subnet.prefix);
}

/** How many subnets of size `/childPrefix` fit in `subnet`. */
export function subnetCount(subnet: Subnet, childPrefix: number): number {
  return childPrefix < subnet.prefix ? 0 : 2 ** (childPrefix - subnet.prefix);
}

/** Splits "10.0.0.2/24" into its parts; a bare IP has no prefix. */
export function splitAddress(address: string): { ip: string; prefix?: number } {
  const [ip, prefix] = address.split("/");
  return prefix === undefined ? { ip: ip! } : { ip: ip!, prefix: Number(prefix) };
}

export function isValidIpv4(ip: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(ip);
}
