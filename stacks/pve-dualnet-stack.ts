import { LocalBackend, TerraformStack } from "cdktf";
import type { Construct } from "constructs";

/**
 * Base of every pve-dualnet stack: state in the project directory under a relative path
 * (cdktf's default is absolute, which would make the JSON differ between machines).
 */
export class PveDualnetStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new LocalBackend(this, { path: `../../../terraform.${id}.tfstate` });
  }
}
