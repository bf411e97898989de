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
import { planWith } from "./helpers";
import { judged, settingsIn } from "./lab/judged";
import { runTool } from "./lab/tools";
import { terraformAvailable } from "./terraform/terraform";

const root = path.join(__dirname, "..");
const CDKTF = path.join(root, "node_modules", "cdktf-cli", "bundle", "bin", "cdktf");

/** `npx cdktf <verb> ...` lines of the README and docs/, with their arguments. */
function documentedCommands(): { where: string; args: string[] }[] {
  const files = ["README.md", ...readdirSync(path.join(root, "docs")).map((f) => path.join("docs", f))].filter((f) => f.endsWith(".md"));
  return files.flatMap((file) =>
    [...readFileSync(path.join(root, file), "utf8").matchAll(/npx cdktf (deploy|destroy)((?: [a-z-]+)+)/g)].map((m) => ({ where: file, args: [m[1]!, ...m[2]!.trim().split(" ")] })),
  );
}

/** A project directory whose cdktf.out holds the example's stacks without resources. */
function emptiedProject(): string {
  const project = mkdtempSync(path.join(tmpdir(), "pvdn-deploy-"));
  const out = path.join(project, "cdktf.out");
  synthesize(planWith(), out);
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
const template = emptiedProject();
const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", CI: "1" };
delete env.TF_CLI_CONFIG_FILE;

/** The cdktf CLI in a copy of the emptied project; the stacks whose state it wrote. */
async function run(args: readonly string[]) {
  const project = mkdtempSync(path.join(tmpdir(), "pvdn-deploy-run-"));
  cpSync(template, project, { recursive: true });
  const argv = [...args, "--skip-synth", ...(args[0] === "deploy" ? ["--auto-approve"] : [])];
  const result = await judged({ judge: `cdktf ${argv.join(" ")}`, texts: { env: settingsIn(env, "TF_", "CDKTF_") }, inputs: [template, path.join(root, "package-lock.json")], outputs: project }, () =>
    runTool(process.execPath, [CDKTF, ...argv], { cwd: project, env }),
  );
  const applied = ["host-network", "vms", "cni"].filter((stack) => existsSync(path.join(project, `terraform.${stack}.tfstate`)));
  return { ...result, applied };
}

(terraformAvailable() ? describe : describe.skip)("the cdktf commands the docs give", () => {
  const commands = documentedCommands();

  it("are found: every step of the build is there", () => {
    const deployed = new Set(commands.filter((c) => c.args[0] === "deploy").flatMap((c) => c.args.slice(1)).filter((a) => !a.startsWith("-")));
    expect([...deployed].sort()).toEqual(["cni", "host-network", "vms"]);
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
    expect(result.applied.sort()).toEqual(args.slice(1).filter((a) => !a.startsWith("-")).sort());
  });

  it.concurrent("the check can fail: one stack alone without the flag is refused by cdktf", async () => {
    const result = await run(["deploy", "vms"]);
    expect(result.stdout + result.stderr).toMatch(/The following dependencies are not included in the stacks to run: host-network/);
    expect(result.status).not.toBe(0);
    expect(result.applied).toEqual([]);
  });

  it.concurrent("cdktf diff of one stack, as the pull-request workflow runs it for each, needs no flag", async () => {
    const workflow = readFileSync(path.join(root, ".github", "workflows", "plan-review.yml"), "utf8");
    expect(workflow).toContain('npx cdktf diff "$stack" --skip-synth');
    // cni depends on both others: if diff checked dependencies, it would fail here.
    const result = await run(["diff", "cni"]);
    expect(result.stdout + result.stderr).not.toMatch(/Usage Error/);
    expect(result.status).toBe(0);
  });
});
