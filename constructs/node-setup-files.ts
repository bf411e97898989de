import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Construct } from "constructs";
import type { ClusterPlan } from "../config/plan";
import { renderKubeadmConfigs } from "../renderers/kubeadm";
import { renderKubeVipManifest } from "../renderers/kube-vip";
import { NODE_SETUP_DIRS, renderGroupVars, renderInventory } from "../renderers/node-setup";
import { renderSysctlFile, sysctlFiles, sysctlIpv6 } from "../renderers/sysctl";
import { GeneratedFile } from "./generated-file";

export interface NodeSetupFilesProps {
  /** The cluster plan: the inventory, variables, kubeadm and kube-vip files are rendered from all of it. */
  readonly plan: ClusterPlan;
  /** Directory (relative to the stack's Terraform working directory) the Ansible files go to. */
  readonly directory: string;
}

/** ansible/ beside constructs/ in the sources, and beside dist/ in the bundled app. */
const ANSIBLE_DIR = path.join(__dirname, "..", "ansible");

/**
 * The playbooks, copied as they are in the tree: the node setup (site.yml) and the day-two
 * plays that follow a node's life cycle, removal before its VM goes and the upgrade one minor
 * version at a time (docs/node-setup.md, "Day two").
 */
export const PLAYBOOKS = ["site.yml", "remove-node.yml", "upgrade.yml"] as const;

/**
 * Everything step 3 (node setup) and the days after it need, in one directory: the playbooks
 * (ansible/*.yml, as they are in the tree), the inventory and variables derived from the plan, the node sysctl files,
 * the kubeadm configurations and the kube-vip manifest. `ansible-playbook -i inventory.ini
 * site.yml` from that directory sets up every node.
 */
export class NodeSetupFiles extends Construct {
  readonly files: readonly GeneratedFile[];

  constructor(scope: Construct, id: string, props: NodeSetupFilesProps) {
    super(scope, id);
    const { plan, directory } = props;
    const files: GeneratedFile[] = [];
    const file = (relative: string, content: string) => {
      const dir = path.posix.dirname(relative);
      files.push(new GeneratedFile(this, relative, { directory: dir === "." ? directory : `${directory}/${dir}`, name: path.posix.basename(relative), content }));
    };
    for (const playbook of PLAYBOOKS) file(playbook, readFileSync(path.join(ANSIBLE_DIR, playbook), "utf8"));
    file("inventory.ini", renderInventory(plan));
    file("group_vars/all.yml", renderGroupVars(plan));
    for (const f of sysctlFiles(plan.config.sysctl, "node", sysctlIpv6(plan))) file(`${NODE_SETUP_DIRS.sysctl}/${f.name}`, renderSysctlFile(f));
    for (const [name, content] of Object.entries(renderKubeadmConfigs(plan))) file(`${NODE_SETUP_DIRS.kubeadm}/${name}.j2`, content);
    const kubeVip = renderKubeVipManifest(plan);
    if (kubeVip) file(NODE_SETUP_DIRS.kubeVip, kubeVip);
    this.files = files;
  }
}
