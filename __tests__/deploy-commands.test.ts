/**
 * Every cdktf command that README.md and docs/ tell a user to run selects its stacks as the docs
 * say, judged by the real cdktf CLI: `deploy <stacks> --skip-synth --auto-approve` over the
 * synthesized stacks emptied of their resources (an output naming the stack is left), so that
 * cdktf's own stack selection and ordering run, and Terraform applies nothing it would need a
 * provider or a Proxmox host for. cdktf refuses a deploy that leaves out a stack another depends
 * on: a documented command that did would fail here.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { synthesize } from "../stacks/synthesize";
import { planWith, shardByNode, SHARDED_STACKS } from "./helpers";
import { judged, settingsIn } from "./lab/judged";
import { runTool } from "./lab/tools";
import { terraformAvailable } from "./terraform/terraform";

const root = path.join(__dirname, "..");
const CDKTF = path.join(root, "node_modules", "cdktf-cli", "bundle", "bin", "cdktf");

/** cdktf's options that take a value, as the docs use them. */
const VALUED = new Set(["--parallelism"]);

/** `npx cdktf <verb> ...` lines of the README and docs/, with their arguments (quotes removed, as the shell does). */
function documentedCommands(): { where: string; args: string[] }[] {
  const files = ["README.md", ...readdirSync(path.join(root, "docs")).map((f) => path.join("docs", f))].filter((f) => f.endsWith(".md"));
  return files.flatMap((file) =>
    [...readFileSync(path.join(root, file), "utf8").matchAll(/npx cdktf (deploy|destroy)((?: (?:'[a-z0-9*-]+'|[a-z0-9-]+))+)/g)].map((m) => ({
      where: file,
      args: [m[1]!, ...m[2]!.trim().split(" ").map((a) => a.replace(/^'(.*)'$/, "$1"))],
    })),
  );
}

/** The stack names or patterns of a command line (not its options, nor their values). */
function stackArgs(args: readonly string[]): string[] {
  return args.slice(1).filter((a, i, all) => !a.startsWith("-") && !VALUED.has(all[i - 1] ?? ""));
}

/** A command for a description with VM shards names one (vms-<node>) or a pattern (vms*). */
const forShards = (args: readonly string[]) => stackArgs(args).some((a) => a.startsWith("vms-") || a.includes("*"));

/** The stacks a pattern selects, as cdktf matches them (minimatch: `*` is any run of characters). */
const selected = (patterns: readonly string[], stacks: readonly string[]) =>
  [...new Set(patterns.flatMap((p) => stacks.filter((s) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(s))))];

/** A project directory whose cdktf.out holds a description's stacks without resources. */
function emptiedProject(edit: (c: any) => void = () => {}): string {
  const project = mkdtempSync(path.join(tmpdir(), "pvdn-deploy-"));
  const out = path.join(project, "cdktf.out");
  synthesize(planWith(edit), out);
  for (const stack of readdirSync(path.join(out, "stacks"))) {
    const file = path.join(out, "stacks", stack, "cdk.tf.json");
    const json = JSON.parse(readFileSync(file, "utf8"));
    writeFileSync(file, JSON.stringify({ "//": json["//"], terraform: { backend: json.terraform.backend }, output: { stack: { value: stack } } }, null, 2));
  }
  writeFileSync(path.join(project, "cdktf.json"), JSON.stringify({ language: "typescript", app: "false", terraformProviders: [], context: {} }));
  return project;
}

// Each command starts the cdktf CLI and Terraform: tens of seconds on a busy 2-core machine.
jest.setTimeout(180_000);
/** The example's stacks, and the example sharded by node (helpers.ts: vms-pve, vms-pve2, vms-pve3). */
const templates = { single: { dir: emptiedProject(), stacks: ["host-network", "vms", "cni"] }, sharded: { dir: emptiedProject(shardByNode), stacks: [...SHARDED_STACKS] } };
const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", CI: "1" };
delete env.TF_CLI_CONFIG_FILE;

/** The cdktf CLI in a copy of an emptied project; the stacks whose state it wrote. */
async function run(args: readonly string[], template = forShards(args) ? templates.sharded : templates.single) {
  const project = mkdtempSync(path.join(tmpdir(), "pvdn-deploy-run-"));
  cpSync(template.dir, project, { recursive: true });
  const argv = [...args, "--skip-synth", ...(args[0] === "deploy" ? ["--auto-approve"] : [])];
  const result = await judged({ judge: `cdktf ${argv.join(" ")}`, texts: { env: settingsIn(env, "TF_", "CDKTF_") }, inputs: [template.dir, path.join(root, "package-lock.json")], outputs: project }, () =>
    runTool(process.execPath, [CDKTF, ...argv], { cwd: project, env }),
  );
  const applied = template.stacks.filter((stack) => existsSync(path.join(project, `terraform.${stack}.tfstate`)));
  return { ...result, applied, stacks: template.stacks };
}

(terraformAvailable() ? describe : describe.skip)("the cdktf commands the docs give", () => {
  const commands = documentedCommands();

  it("are found: every step of the build is there, with the VMs in one stack and sharded by node", () => {
    const deploys = commands.filter((c) => c.args[0] === "deploy");
    const deployed = (shards: boolean, stacks: readonly string[]) => selected(deploys.filter((c) => forShards(c.args) === shards).flatMap((c) => stackArgs(c.args)), stacks).sort();
    expect(deployed(false, templates.single.stacks)).toEqual(["cni", "host-network", "vms"]);
    // Sharded, the docs give the steps that differ: the VMs with every shard, and one shard alone.
    expect(deployed(true, templates.sharded.stacks)).toEqual(["host-network", "vms", "vms-pve", "vms-pve2", "vms-pve3"]);
    expect(deploys.some((c) => stackArgs(c.args).length === 1 && /^vms-[a-z0-9-]+$/.test(stackArgs(c.args)[0]!))).toBe(true);
  });

  // Each distinct command once, with every place that gives it.
  const distinct = [...new Map(commands.map((c) => [c.args.join(" "), c.args])).entries()].map(([text, args]) => {
    const where = [...new Set(commands.filter((c) => c.args.join(" ") === text).map((c) => c.where))].join(", ");
    return [where, text, args] as const;
  });
  it.concurrent.each(distinct)("%s: cdktf %s runs as written", async (_where, _text, args) => {
    const result = await run(args);
    expect(result.stdout + result.stderr).not.toMatch(/Usage Error|dependencies are not included/);
    expect(result.status).toBe(0);
    expect(result.applied.sort()).toEqual(selected(stackArgs(args), result.stacks).sort());
  });

  it.concurrent("the check can fail: one stack alone without the flag is refused by cdktf", async () => {
    const result = await run(["deploy", "vms"]);
    expect(result.stdout + result.stderr).toMatch(/The following dependencies are not included in the stacks to run: host-network/);
    expect(result.status).not.toBe(0);
    expect(result.applied).toEqual([]);
  });

  it.concurrent("the check can fail for shards too: every shard without the vms stack they come after is refused", async () => {
    const result = await run(["deploy", "vms-*"]);
    expect(result.stdout + result.stderr).toMatch(/The following dependencies are not included in the stacks to run: vms\./);
    expect(result.status).not.toBe(0);
    expect(result.applied).toEqual([]);
  });

  it.concurrent("cdktf diff of one stack, as the pull-request workflow runs it for each, needs no flag", async () => {
    const workflow = readFileSync(path.join(root, ".github", "workflows", "plan-review.yml"), "utf8");
    expect(workflow).toContain(`npx cdktf diff "$1" --skip-synth`);
    // The stacks come from the description (shards included), not from a list in the workflow.
    expect(workflow).toContain('stacks="$(node bin/pve-dualnet.mjs stacks "$PVE_DUALNET_CONFIG")"');
    expect(workflow).not.toMatch(/for stack in host-network/);
    // cni depends on the others, a shard on vms: if diff checked dependencies, these would fail.
    for (const args of [["diff", "cni"], ["diff", "vms-pve2"]]) {
      const result = await run(args);
      expect(result.stdout + result.stderr).not.toMatch(/Usage Error/);
      expect(result.status).toBe(0);
    }
  });
});
