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

/**
 * A subnet's network address as ipaddr.js parses it, and its broadcast address: each worked out
 * once per subnet, not again for every address checked against it (every VM's, in the checks).
 */
const parsedSubnets = new WeakMap<Subnet, { network: ipaddr.IPv4; broadcast?: string }>();
function parsedSubnet(subnet: Subnet): { network: ipaddr.IPv4; broadcast?: string } {
  let parsed = parsedSubnets.get(subnet);
  if (!parsed) parsedSubnets.set(subnet, (parsed = { network: ipaddr.IPv4.parse(subnet.network) }));
  return parsed;
}

export function contains(subnet: Subnet, ip: string): boolean {
  return ipaddr.IPv4.parse(ip).match(parsedSubnet(subnet).network, subnet.prefix);
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return contains(a, b.network) || contains(b, a.network);
}

/** The subnet's own network or broadcast address: not usable by a host. */
export function isReservedAddress(subnet: Subnet, ip: string): boolean {
  if (subnet.prefix >= 31) return false;
  const parsed = parsedSubnet(subnet);
  parsed.broadcast ??= ipaddr.IPv4.broadcastAddressFromCIDR(subnet.cidr).toString();
  return ip === subnet.network || ip === parsed.broadcast;
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

/** An IPv4 address as the number it stands for. */
export function ipv4ToNumber(ip: string): number {
  return ipaddr.IPv4.parse(ip).toByteArray().reduce((n, octet) => n * 256 + octet, 0);
}

/** Orders IPv6 addresses by the numbers they stand for (for sorting). */
export function compareIpv6(a: string, b: string): number {
  const [x, y] = [ipaddr.IPv6.parse(a).toByteArray(), ipaddr.IPv6.parse(b).toByteArray()];
  const i = x.findIndex((byte, k) => byte !== y[k]);
  return i < 0 ? 0 : x[i]! - y[i]!;
}

/** The address a number stands for. */
export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** A run of consecutive IPv4 addresses, both ends included, as numbers. */
export interface AddressRange {
  readonly first: number;
  readonly last: number;
}

/**
 * One entry of an address pool: `192.168.0.200` (one address), `192.168.0.200-192.168.0.220`
 * (both ends included) or `192.168.0.200/29` (every address of the network). Undefined when the
 * text is none of these (the schema's pattern already holds it to their shapes).
 */
export function parseAddressRange(text: string): AddressRange | undefined {
  const [a, b] = text.split("-");
  if (b !== undefined) {
    if (!isValidIpv4(a!) || !isValidIpv4(b)) return undefined;
    return { first: ipv4ToNumber(a!), last: ipv4ToNumber(b) };
  }
  if (text.includes("/")) {
    if (!ipaddr.IPv4.isValidCIDR(text)) return undefined;
    const subnet = parseSubnet(text);
    const first = ipv4ToNumber(subnet.network);
    return { first, last: first + subnetSize(subnet) - 1 };
  }
  return isValidIpv4(text) ? { first: ipv4ToNumber(text), last: ipv4ToNumber(text) } : undefined;
}

/** The range as text: `a` for one address, `a-b` otherwise. */
export function formatAddressRange(range: AddressRange): string {
  return range.first === range.last ? numberToIpv4(range.first) : `${numberToIpv4(range.first)}-${numberToIpv4(range.last)}`;
}

/**
 * The fewest networks that cover exactly the range, in address order (a single address as the
 * bare address): 192.168.0.200-192.168.0.220 is 192.168.0.200/29, 192.168.0.208/29,
 * 192.168.0.216/30, 192.168.0.220.
 */
export function rangeToCidrs(range: AddressRange): string[] {
  const cidrs: string[] = [];
  let next = range.first;
  while (next <= range.last) {
    // The largest aligned block starting at `next` that stays inside the range.
    let size = 1;
    while (next % (size * 2) === 0 && next + size * 2 - 1 <= range.last) size *= 2;
    const prefix = 32 - Math.log2(size);
    cidrs.push(prefix === 32 ? numberToIpv4(next) : `${numberToIpv4(next)}/${prefix}`);
    next += size;
  }
  return cidrs;
}

// ---------------------------------------------------------------------------
// IPv6 (dual-stack). Every IPv6 text the plan hands on is `canonicalIpv6`'s: RFC 5952's
// compressed, lower-case form as ipaddr.js writes it (IPv6.toString), whatever the user wrote.
// ---------------------------------------------------------------------------

/** An IPv6 address in RFC 5952 text (lower case, the longest run of zero groups as `::`). */
export function canonicalIpv6(ip: string): string {
  return ipaddr.IPv6.parse(ip).toString();
}

/** True for an IPv6 address without a zone (`%eth0`); IPv4 text is not one. */
export function isValidIpv6(ip: string): boolean {
  return !ip.includes("%") && !ip.includes(".") && ipaddr.IPv6.isValid(ip);
}

/** `network/prefix` of an IPv6 network, canonical. */
export function parseSubnet6(cidr: string): Subnet {
  const [, prefix] = ipaddr.IPv6.parseCIDR(cidr);
  const network = ipaddr.IPv6.networkAddressFromCIDR(cidr).toString();
  return { network, prefix, cidr: `${network}/${prefix}` };
}

/** True when the IPv6 network has no host bits set (fd00::/64, not fd00::5/64). */
export function isCanonicalSubnet6(cidr: string): boolean {
  return canonicalIpv6(cidr.split("/")[0]!) === parseSubnet6(cidr).network;
}

/** True for a network inside ::ffff:0:0/96 (IPv4-mapped): IPv4 written as IPv6, which no IPv6 packet carries. */
export function isIpv4MappedSubnet(cidr: string): boolean {
  const { network, prefix } = parseSubnet6(cidr);
  return prefix >= 96 && ipaddr.IPv6.parse(network).range() === "ipv4Mapped";
}

export function contains6(subnet: Subnet, ip: string): boolean {
  return ipaddr.IPv6.parse(ip).match(ipaddr.IPv6.parse(subnet.network), subnet.prefix);
}

export function overlaps6(a: Subnet, b: Subnet): boolean {
  return contains6(a, b.network) || contains6(b, a.network);
}

/**
 * The subnet-router anycast address, the one with every interface bit zero (RFC 4291 section
 * 2.6.1): every router of the link answers it, so no host may take it. IPv6 has no broadcast.
 */
export function isSubnetRouterAnycast(subnet: Subnet, ip: string): boolean {
  return subnet.prefix < 127 && canonicalIpv6(ip) === subnet.network;
}

/** How many subnets of size `/childPrefix` fit in the IPv6 `subnet` (capped at 2^53). */
export function subnetCount6(subnet: Subnet, childPrefix: number): number {
  return childPrefix < subnet.prefix ? 0 : 2 ** Math.min(53, childPrefix - subnet.prefix);
}

/**
 * Why an IPv6 address or network cannot be a cluster's, or undefined when it can: only global
 * unicast (2000::/3, RFC 4291 section 2.4) and unique local addresses (fc00::/7, RFC 4193) can.
 * The special ranges are named as ipaddr.js's IPv6 range() names them (link-local fe80::/10,
 * multicast ff00::/8, loopback, unspecified, IPv4-mapped ::ffff:0:0/96, documentation
 * 2001:db8::/32, Teredo, 6to4 and the rest).
 */
export function ipv6Unusable(ip: string): string | undefined {
  const address = ipaddr.IPv6.parse(ip);
  const range = address.range();
  const global = address.match(ipaddr.IPv6.parse("2000::"), 3);
  if (range === "uniqueLocal" || (range === "unicast" && global)) return undefined;
  const names: Record<string, string> = {
    linkLocal: "link-local (fe80::/10)",
    multicast: "multicast (ff00::/8)",
    loopback: "the loopback address",
    unspecified: "the unspecified address",
    ipv4Mapped: "IPv4-mapped (::ffff:0:0/96)",
    reserved: "reserved (such as documentation, 2001:db8::/32)",
    unicast: "outside global unicast (2000::/3)",
  };
  return names[range] ?? `a special-purpose range (${range})`;
}
