import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ConfigError, type ConfigIssue } from "../config/errors";
import { checkCluster, EXAMPLE_CONFIG } from "../config/load";
import type { ClusterPlan } from "../config/plan";
import { unescapeTemplate } from "../constructs/terraform-text";

/** Another Proxmox node in the example's dual-bridge shape: vmbr0 on enp4s0, vmbr1 on enp5s0. */
export function dualBridgeNode(name: string, external: string, internal: string): any {
  return {
    name,
    interfaces: [
      { kind: "nic", name: "enp4s0" },
      { kind: "nic", name: "enp5s0" },
      { kind: "bridge", name: "vmbr0", network: "external", address: external, ports: ["enp4s0"] },
      { kind: "bridge", name: "vmbr1", network: "internal", address: internal, ports: ["enp5s0"] },
    ],
  };
}

/**
 * The example sharded by node (vmStacks.shardBy: node) over three Proxmox nodes: the control
 * planes on pve, the worker on pve2, nothing on pve3 (whose stack exists all the same).
 */
export function shardByNode(c: any): void {
  c.proxmox.nodes.push(dualBridgeNode("pve2", "192.168.0.3", "10.0.0.3"), dualBridgeNode("pve3", "192.168.0.4", "10.0.0.4"));
  c.vms.forEach((vm: any) => (vm.node = vm.role === "worker" ? "pve2" : "pve"));
  c.vmStacks = { shardBy: "node" };
}

/** The stack ids shardByNode gives, in build order. */
export const SHARDED_STACKS = ["host-network", "vms", "vms-pve", "vms-pve2", "vms-pve3", "cni"] as const;

let example: unknown;
/** The built-in example as plain data: tests mutate a fresh copy (parsed once per test file). */
export function exampleInput(): any {
  example ??= parse(readFileSync(EXAMPLE_CONFIG, "utf8"));
  return structuredClone(example);
}

/** Plans the example after `edit` changes it. */
export function planWith(edit: (input: any) => void = () => {}): ClusterPlan {
  const input = exampleInput();
  edit(input);
  return checkCluster(input, "test.yaml");
}

/** Plans a description file of the repository after `edit` changes it: planFrom("examples/dual-stack.yaml"). */
export function planFrom(file: string, edit: (input: any) => void = () => {}): ClusterPlan {
  const input = parse(readFileSync(path.join(__dirname, "..", file), "utf8"));
  edit(input);
  return checkCluster(input, file);
}

/** The issues a description produces (fails the test if it is valid). */
export function issuesOf(edit: (input: any) => void): ConfigIssue[] {
  try {
    planWith(edit);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error("expected the description to be rejected, but it was accepted");
}

/** All resources of one type in a synthesized stack, as a list. */
export function resourcesOf(stack: any, type: string): any[] {
  return Object.values(stack.resource?.[type] ?? {});
}

/**
 * A stack for a snapshot, with the programs pve-dualnet ships as files (host/, ansible/) shown by
 * name: they have tests of their own, and their every edit would otherwise rewrite snapshots.
 */
export function withShippedFilesByName(stack: any): any {
  const root = path.join(__dirname, "..");
  const shipped = new Map<string, string>(
    ["host/pve-dualnet-network.sh", "host/pve-dualnet-lib.sh", "host/pve-dualnet-network-guard.service", "host/pve-dualnet-sysctl.sh", "ansible/site.yml", "ansible/remove-node.yml", "ansible/upgrade.yml"].map((f) => [
      readFileSync(path.join(root, f), "utf8"),
      f,
    ]),
  );
  return JSON.parse(JSON.stringify(stack), (_key, value) => {
    const name = typeof value === "string" ? shipped.get(unescapeTemplate(value)) : undefined;
    return name ? `<the content of ${name}>` : value;
  });
}

/** A directory's files and their contents (by path relative to it), for byte-for-byte comparison. */
export function tree(top: string): Record<string, string> {
  const files = readdirSync(top, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return Object.fromEntries(files.map((e) => path.join(e.parentPath, e.name)).map((file) => [path.relative(top, file), readFileSync(file, "utf8")]));
}

/**
 * Turns the built-in example dual-stack as examples/dual-stack.yaml is: IPv6 on both networks, the
 * bridges' and the VMs' IPv6 addresses (host and VM numbers as in IPv4). For tests that apply it
 * over layouts and options of the built-in example.
 */
export function dualStack(c: any): void {
  c.networks.external.ipv6 = { cidr: "fd00:192:168::/64", gateway: "fd00:192:168::1" };
  c.networks.internal.ipv6 = { cidr: "fd00:10::/64" };
  c.networks.external.dns = [...c.networks.external.dns, "fd00:192:168::1"];
  for (const node of c.proxmox.nodes) {
    for (const i of node.interfaces) {
      if (i.kind === "nic" || !i.address || !i.network) continue;
      const host = i.address.split("/")[0].split(".")[3];
      i.address6 = i.network === "external" ? `fd00:192:168::${host}` : `fd00:10::${host}`;
    }
  }
  for (const vm of c.vms) {
    vm.ip.external6 = `fd00:192:168::${vm.ip.external.split(".")[3]}`;
    vm.ip.internal6 = `fd00:10::${vm.ip.internal.split(".")[3]}`;
  }
}
