import { LocalProvider } from "@cdktf/provider-local/lib/provider";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import type { ClusterPlan } from "../config/plan";
import { ProxmoxHostNetwork } from "../constructs/proxmox-host-network";
import { SshAccess } from "../constructs/ssh-access";
import { sysctlIpv6 } from "../renderers/sysctl";
import { outputDirectory } from "./paths";
import { PveDualnetStack } from "./pve-dualnet-stack";

export interface HostNetworkStackProps {
  readonly plan: ClusterPlan;
}

/**
 * Step 1 of the build order: the Proxmox hosts' bridges and sysctl, one ProxmoxHostNetwork per
 * node.
 */
export class HostNetworkStack extends PveDualnetStack {
  readonly hosts: readonly ProxmoxHostNetwork[];

  constructor(scope: Construct, id: string, props: HostNetworkStackProps) {
    super(scope, id, props.plan.config);
    const { plan } = props;
    new LocalProvider(this, "local");
    const ssh = new SshAccess(this, "ssh");
    const out = outputDirectory(plan.config.output.directory);

    this.hosts = plan.hosts.map(
      (host) =>
        new ProxmoxHostNetwork(this, `host-${host.name}`, {
          host,
          clusterName: plan.config.name,
          sysctl: plan.config.sysctl,
          ipv6: sysctlIpv6(plan),
          outputDir: `${out}/hosts/${host.name}`,
          ssh,
          times: plan.config.proxmox.apply,
        }),
    );


    new TerraformOutput(this, "host_bridges", {
      description: "Per Proxmox node: bridge, address, MTU and the host's default gateway",
      value: Object.fromEntries(
        plan.hosts.map((h) => [
          h.name,
          {
            gateway: h.gateway?.ip ?? null,
            bridges: Object.fromEntries(
              Object.entries(h.bridges).map(([role, b]) => [role, { name: b.name, address: b.address ?? null, mtu: b.mtu }]),
            ),
          },
        ]),
      ),
    });
  }
}
