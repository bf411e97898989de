/**
 * Every shell script pve-dualnet ships or renders, through shellcheck at warning level: the
 * programs in the tree (found by their shebang, so a new one is never missed), the environment
 * files the host programs source, the commands Terraform runs over SSH, and the post-up /
 * post-down commands of the rendered interfaces files (ifupdown2 runs them with /bin/sh).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { unescapeTemplate } from "../constructs/terraform-text";
import { renderNetworkEnv, renderSysctlEnv } from "../renderers/host-apply-env";
import { renderInterfaces } from "../renderers/interfaces";
import { sysctlFiles } from "../renderers/sysctl";
import { planWith } from "./helpers";
import { synthAll } from "./synth";
import { layouts } from "./layouts";
import { judged } from "./lab/judged";
import { hasTool, runTool } from "./lab/tools";

const root = path.join(__dirname, "..");
const available = hasTool("shellcheck", "shellcheck");

/** Files in the repository (committed or not yet) whose first line is a sh or bash shebang. */
const shippedScripts = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8" })
  .split("\n")
  .filter((f) => f && !f.startsWith(".gen/") && !f.startsWith("node_modules/"))
  .filter((f) => {
    try {
      return /^#!\s*(\/usr\/bin\/env\s+)?(\/bin\/)?(ba)?sh\b/.test(readFileSync(path.join(root, f), "utf8").slice(0, 64));
    } catch {
      return false;
    }
  });

const shellcheck = (text: string, shell: "sh" | "bash" = "sh") => {
  const args = ["--severity=warning", `--shell=${shell}`, "-"];
  return judged({ judge: `shellcheck ${args.join(" ")}`, texts: { stdin: text } }, () => runTool("shellcheck", args, { input: text }));
};

/** Rendered shell text: [what, text]. */
const rendered: [string, string][] = Object.entries(layouts).flatMap(([name, edit]) => {
  const plan = planWith((c) => {
    edit(c);
    c.sysctl = { disableIpv6: true, tuning: {} };
  });
  const host = plan.hosts[0]!;
  const hooks = renderInterfaces(host, plan.config.name)
    .split("\n")
    .filter((l) => /^\s+(post-up|post-down|pre-up|up|down)\s/.test(l))
    .map((l) => l.trim().replace(/^\S+\s+/, ""));
  const stack = synthAll(plan).hostNetwork;
  const commands = Object.values<any>(stack.resource.terraform_data).flatMap((r) =>
    r.provisioner.filter((p: any) => p["remote-exec"]).flatMap((p: any) => p["remote-exec"].inline as string[]),
  );
  return [
    [`${name}: network.env`, renderNetworkEnv(host, plan.config.proxmox.apply)],
    [`${name}: sysctl.env`, renderSysctlEnv(host.name, sysctlFiles(plan.config.sysctl, "host"))],
    // Terraform turns $${ back into ${ before the commands reach the host.
    [`${name}: commands Terraform runs over SSH`, commands.map(unescapeTemplate).join("\n")],
    ...(hooks.length ? ([[`${name}: interfaces hooks`, hooks.join("\n")]] as [string, string][]) : []),
  ];
});

(available ? describe : describe.skip)("shellcheck", () => {
  it("finds the programs the tree ships", () => {
    expect(shippedScripts).toEqual(expect.arrayContaining(["host/pve-dualnet-network.sh", "host/pve-dualnet-lib.sh", "host/pve-dualnet-sysctl.sh", "scripts/bindings.sh", ".ci/run"]));
  });

  it.concurrent.each(shippedScripts)("passes %s", async (file) => {
    const text = readFileSync(path.join(root, file), "utf8");
    const result = await shellcheck(text, /bash/.test(text.split("\n")[0]!) ? "bash" : "sh");
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });

  it.concurrent.each(rendered)("passes %s", async (_what, text) => {
    const result = await shellcheck(`#!/bin/sh\n${text}\n`);
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });

  it("reports a warning-level mistake (the check can fail)", async () => {
    const result = await shellcheck("#!/bin/sh\ncd /tmp/somewhere\nrm -rf ./*\n");
    expect(result.stdout).toMatch(/SC2164/);
    expect(result.status).not.toBe(0);
  });
});
