import { Construct } from "constructs";
import type { HostPlan } from "../config/plan";
import type { ClusterConfig } from "../config/schema";
import { renderNetworkEnv, renderSysctlEnv, type NetworkApplyTimes } from "../renderers/host-apply-env";
import { renderInterfaces } from "../renderers/interfaces";
import { shellCommand } from "../renderers/shell";
import { renderSysctlFile, sysctlFiles, type SysctlIpv6 } from "../renderers/sysctl";
import { GeneratedFile } from "./generated-file";
import { HOST_LIBRARY, hostProgram, NETWORK_GUARD_UNIT, NETWORK_PROGRAM, SYSCTL_PROGRAM } from "./host-programs";
import { RemoteApply } from "./remote-apply";
import type { SshAccess } from "./ssh-access";

export interface ProxmoxHostNetworkProps {
  /** The planned host: interfaces, MTUs, gateway, peers. */
  readonly host: HostPlan;
  /** Cluster name, for file headers. */
  readonly clusterName: string;
  /** sysctl settings of the cluster. */
  readonly sysctl: ClusterConfig["sysctl"];
  /**
   * The IPv6 the cluster uses: with any, disable-ipv6.conf is never written to the host.
   * @default no IPv6
   */
  readonly ipv6?: SysctlIpv6;
  /** Directory (relative to the stack's Terraform working directory) for this host's review copies. */
  readonly outputDir: string;
  /** SSH access to the host. */
  readonly ssh: SshAccess;
  /** Confirm and verify timeouts of a network change. */
  readonly times: NetworkApplyTimes;
}

/**
 * The host side of one Proxmox node: its /etc/network/interfaces and sysctl files, written
 * locally for review and applied over SSH (network first, then sysctl), each only when what it
 * applies changes.
 *
 * The network change is commit-confirmed: host/pve-dualnet-network.sh switches, verifies and
 * leaves the change pending under a dead-man switch; a second SSH connection confirms it. If
 * that connection cannot be made (the change cut Terraform off), the host rolls back by itself.
 */
export class ProxmoxHostNetwork extends Construct {
  readonly interfaces: GeneratedFile;
  readonly networkApply: RemoteApply;
  readonly sysctlApply: RemoteApply;

  constructor(scope: Construct, id: string, props: ProxmoxHostNetworkProps) {
    super(scope, id);
    const { host, outputDir } = props;
    const file = (name: string, content: string) => new GeneratedFile(this, name, { directory: outputDir, name, content });

    const stagingRoot = host.ssh.user === "root" ? "/root/.pve-dualnet" : `/home/${host.ssh.user}/.pve-dualnet`;
    // A user other than root runs the programs through sudo, without a password prompt.
    const program = host.ssh.user === "root" ? ["/bin/sh"] : ["sudo", "-n", "/bin/sh"];
    const connection = props.ssh.connection(host.ssh);

    this.interfaces = file("interfaces", renderInterfaces(host, props.clusterName));
    const networkEnv = file("network.env", renderNetworkEnv(host, props.times));
    this.networkApply = new RemoteApply(this, "network", {
      connection,
      stagingRoot,
      label: "network",
      uploads: [hostProgram(NETWORK_PROGRAM), hostProgram(HOST_LIBRARY), hostProgram(NETWORK_GUARD_UNIT), networkEnv, this.interfaces],
      steps: [
        (dir) => shellCommand(...program, `${dir}/${NETWORK_PROGRAM}`, "apply", `${dir}/network.env`, `${dir}/interfaces`),
        (dir) => shellCommand(...program, `${dir}/${NETWORK_PROGRAM}`, "confirm", `${dir}/network.env`, this.interfaces.sha256),
      ],
    });

    const sysctl = sysctlFiles(props.sysctl, "host", props.ipv6);
    const sysctlConfFiles = sysctl.map((f) => file(f.name, renderSysctlFile(f)));
    const sysctlEnv = file("sysctl.env", renderSysctlEnv(host.name, sysctl));
    this.sysctlApply = new RemoteApply(this, "sysctl", {
      connection,
      stagingRoot,
      label: "sysctl",
      uploads: [hostProgram(SYSCTL_PROGRAM), hostProgram(HOST_LIBRARY), sysctlEnv, ...sysctlConfFiles],
      steps: [(dir) => shellCommand(...program, `${dir}/${SYSCTL_PROGRAM}`, "apply", `${dir}/sysctl.env`, dir)],
      dependsOn: [this.networkApply.resource],
    });
  }
}
