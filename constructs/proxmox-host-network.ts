import { Construct } from "constructs";
import type { HostPlan } from "../config/plan";
import type { ClusterConfig } from "../config/schema";
import { renderNetworkApplyScript, renderSysctlApplyScript, STAGED_INTERFACES } from "../renderers/apply-scripts";
import { renderInterfaces } from "../renderers/interfaces";
import { renderSysctlFile, sysctlFiles } from "../renderers/sysctl";
import { GeneratedFile } from "./generated-file";
import { RemoteApply } from "./remote-apply";
import type { SshAccess } from "./ssh-access";

export interface ProxmoxHostNetworkProps {
  /** The planned host: interfaces, MTUs, gateway, probes. */
  readonly host: HostPlan;
  /** Cluster name, for file headers. */
  readonly clusterName: string;
  /** sysctl settings of the cluster. */
  readonly sysctl: ClusterConfig["sysctl"];
  /** Directory (relative to the stack's Terraform working directory) for this host's files. */
  readonly outputDir: string;
  /** SSH access to the host. */
  readonly ssh: SshAccess;
  /** Seconds the gateway and peers get to answer before a rollback. Default: 60. */
  readonly verifySeconds?: number;
}

/**
 * The host side of one Proxmox node: its /etc/network/interfaces and sysctl files, written
 * locally for review and applied over SSH (network first, then sysctl), each only when its
 * content changes.
 */
export class ProxmoxHostNetwork extends Construct {
  readonly interfaces: GeneratedFile;
  readonly networkApply: RemoteApply;
  readonly sysctlApply: RemoteApply;

  constructor(scope: Construct, id: string, props: ProxmoxHostNetworkProps) {
    super(scope, id);
    const { host, outputDir } = props;
    const file = (fileId: string, name: string, content: string, permission?: string) =>
      new GeneratedFile(this, fileId, { directory: outputDir, name, content, permission });

    const stagingDir = host.ssh.user === "root" ? "/root/.pve-dualnet" : `/home/${host.ssh.user}/.pve-dualnet`;
    const sudo = host.ssh.user === "root" ? "" : "sudo -n ";
    const connection = props.ssh.connection(host.ssh);

    this.interfaces = file("interfaces", "interfaces", renderInterfaces(host, props.clusterName));
    const networkScript = file("apply-network", "apply-network.sh", renderNetworkApplyScript(host, { verifySeconds: props.verifySeconds }), "0755");
    this.networkApply = new RemoteApply(this, "network", {
      connection,
      stagingDir,
      files: [this.interfaces, networkScript],
      commands: [
        `${sudo}install -m 0644 ${stagingDir}/interfaces ${STAGED_INTERFACES}`,
        // A transient unit outlives the SSH session: a connection lost mid-change cannot stop the rollback.
        `${sudo}systemd-run --quiet --wait --collect --unit=pve-dualnet-network --property=StandardOutput=truncate:${stagingDir}/apply-network.log --property=StandardError=inherit /bin/sh ${stagingDir}/apply-network.sh || true`,
        `cat ${stagingDir}/apply-network.log`,
        `tail -n 1 ${stagingDir}/apply-network.log | grep -q 'network verified'`,
      ],
    });

    const sysctl = sysctlFiles(props.sysctl, "host");
    const sysctlConfFiles = sysctl.map((f) => file(f.name, f.name, renderSysctlFile(f)));
    const sysctlScript = file("apply-sysctl", "apply-sysctl.sh", renderSysctlApplyScript(host.name, stagingDir, sysctl), "0755");
    this.sysctlApply = new RemoteApply(this, "sysctl", {
      connection,
      stagingDir,
      files: [...sysctlConfFiles, sysctlScript],
      commands: [`${sudo}/bin/sh ${stagingDir}/apply-sysctl.sh`],
      dependsOn: [this.networkApply.resource],
    });
  }
}
