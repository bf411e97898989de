/**
 * constructs/remote-apply.ts, its provisioners run for real with sh in a scratch directory that
 * stands in for the host: the staging directory is made private, the steps run in it, and only
 * the older staging directories of the same label are removed afterwards, never the current one
 * nor another label's, whatever the staging root's name holds.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Testing, TerraformStack } from "cdktf";
import { RemoteApply } from "../constructs/remote-apply";
import { unescapeTemplate } from "../constructs/terraform-text";
import { shellCommand } from "../renderers/shell";
import { runTool } from "./lab/tools";

/** The provisioners of a RemoteApply whose staging root is `root`, as Terraform would run them. */
function provisionersOf(root: string, uploads: { name: string; content: string }[]): { type: string; inline?: string[]; content?: string; destination?: string }[] {
  const stack = new TerraformStack(Testing.app(), "remote");
  new RemoteApply(stack, "apply", {
    connection: { type: "ssh", host: "192.0.2.1", user: "root" },
    uploads,
    stagingRoot: root,
    label: "network",
    steps: [(dir) => shellCommand("test", "-f", `${dir}/interfaces`), (dir) => shellCommand("touch", `${dir}/applied`)],
  });
  const json = JSON.parse(Testing.synth(stack));
  const [data] = Object.values<any>(json.resource.terraform_data);
  return data.provisioner.map((p: any) => {
    const [[type, body]] = Object.entries<any>(p);
    return { type, ...(body.inline ? { inline: body.inline.map(unescapeTemplate) } : {}), ...(body.content !== undefined ? { content: unescapeTemplate(body.content), destination: unescapeTemplate(body.destination) } : {}) };
  });
}

describe("RemoteApply, run by sh", () => {
  it("stages privately, runs every step in the staging directory, and removes only the older directories of its label", async () => {
    // A staging root whose name sh would split or expand unless every word is quoted.
    const root = path.join(mkdtempSync(path.join(tmpdir(), "pvdn-remote-")), "staging $(touch x) root");
    mkdirSync(path.join(root, "network-0123456789abcdef"), { recursive: true });
    mkdirSync(path.join(root, "sysctl-0123456789abcdef"));
    writeFileSync(path.join(root, "network-notes"), "a file of the same label is removed too: it is not this apply's\n");
    const provisioners = provisionersOf(root, [{ name: "interfaces", content: "auto lo\n" }]);
    for (const p of provisioners) {
      if (p.type === "file") {
        writeFileSync(p.destination!, p.content!);
        continue;
      }
      for (const command of p.inline!) {
        const result = await runTool("sh", ["-c", command], { cwd: path.dirname(root) });
        expect([command, result.status, result.stderr]).toEqual([command, 0, ""]);
      }
    }
    const current = readdirSync(root).filter((name) => name.startsWith("network-"));
    expect(current).toHaveLength(1);
    expect(readdirSync(path.join(root, current[0]!)).sort()).toEqual(["applied", "interfaces"]);
    expect(statSync(path.join(root, current[0]!)).mode & 0o777).toBe(0o700);
    expect(readdirSync(root).sort()).toEqual([current[0]!, "sysctl-0123456789abcdef"].sort());
    expect(existsSync(path.join(path.dirname(root), "x"))).toBe(false);
    chmodSync(root, 0o700);
  });
});
