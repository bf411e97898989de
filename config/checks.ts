/**
 * What the cross-field checks share (validate.ts and the checks of hosts and VMs): how a problem
 * is reported, the networks' subnets as parsed, and the check that an address lies in its network.
 */
import { contains, isReservedAddress, type Subnet } from "./ip";
import type { NetworkRole } from "./schema";

/** Adds one problem: the field's path, what is wrong, and the fix. */
export type Report = (path: string, message: string, fix?: string) => void;

/** The subnets of the description, as parsed (one missing where it could not be). */
export type Subnets = Partial<Record<NetworkRole | "pod" | "service", Subnet>>;

export function checkAddressIn(ip: string, path: string, role: NetworkRole, subnets: Subnets, report: Report) {
  const subnet = subnets[role];
  if (!subnet) return;
  if (!contains(subnet, ip)) {
    report(path, `${ip} is outside the ${role} network ${subnet.cidr}`, `use an address inside ${subnet.cidr}`);
  } else if (isReservedAddress(subnet, ip)) {
    report(path, `${ip} is the network or broadcast address of ${subnet.cidr}`, "use a host address");
  }
}
