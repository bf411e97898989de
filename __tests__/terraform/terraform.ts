/**
 * The real `terraform` (1.11) judging synthesized stacks offline: providers are served by the
 * schema-only stub (stub/stub-provider.mjs) through TF_REATTACH_PROVIDERS, so `terraform init`
 * installs nothing and `validate` and `plan` check every resource against the provider's schema:
 * bpg/proxmox's real schema (schemas/, kept equal to the reference schema by a test), and
 * hashicorp/local and hashicorp/kubernetes rebuilt from their pinned bindings (binding-schema.ts).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { bindingSchema } from "./binding-schema";
import { judged, settingsIn } from "../lab/judged";
import { PROXMOX_SCHEMA } from "./provider-schemas";

const STUB = path.join(__dirname, "stub", "stub-provider.mjs");
/** Terraform's settings from the environment (TF_CLI_ARGS and the like), for the judges' cache. */
const TERRAFORM_ENV = settingsIn(process.env, "TF_");

const PROVIDERS = {
  "registry.terraform.io/bpg/proxmox": { schema: () => JSON.parse(readFileSync(PROXMOX_SCHEMA, "utf8")) },
  "registry.terraform.io/hashicorp/local": { binding: "@cdktf/provider-local" },
  "registry.terraform.io/hashicorp/kubernetes": { binding: "@cdktf/provider-kubernetes" },
} as const;
type ProviderAddress = keyof typeof PROVIDERS;

/**
 * Whether `terraform` is on PATH. CI must run these checks (.ci/run fails earlier with a clear
 * message when it is missing); elsewhere they are skipped.
 */
export function terraformAvailable(): boolean {
  const found = spawnSync("sh", ["-c", "command -v terraform"]).status === 0;
  if (!found && process.env.CI) throw new Error("CI must run the Terraform checks: put terraform 1.11 on PATH (see .ci/run)");
  return found;
}

export interface TerraformResult {
  readonly ok: boolean;
  /** Which step failed, if one did. */
  readonly failed?: "init" | "validate" | "plan";
  /** Terraform's warnings (deprecated attributes and resources among them): a pass has none. */
  readonly warnings: string[];
  readonly output: string;
}

function runAsync(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("terraform", args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (status) => resolve({ status, output }));
  });
}

/**
 * The stub provider and the environment that points Terraform at it. The stub process starts with
 * the first stack the judges' cache (lab/judged.ts) has no answer for.
 */
export class TerraformJudge {
  private stub?: Promise<{ process: ChildProcess; env: NodeJS.ProcessEnv }>;

  private constructor(
    private readonly specs: string[],
    /** What the providers' schemas are, for the judges' cache. */
    private readonly schemas: string,
    readonly workDir: string,
  ) {}

  /** Writes the providers' schemas; `resourceTypes` lists what the stacks use. */
  static async start(resourceTypes: Iterable<string>): Promise<TerraformJudge> {
    const workDir = mkdtempSync(path.join(tmpdir(), "pvdn-terraform-"));
    const types = [...new Set(resourceTypes)];
    const schemas: string[] = [readFileSync(STUB, "utf8")];
    const specs = Object.entries(PROVIDERS).map(([address, source], i) => {
      const prefix = address.split("/").pop()!;
      const document =
        "schema" in source ? source.schema() : bindingSchema(source.binding, address, types.filter((t) => t.startsWith(`${prefix}_`)));
      const file = path.join(workDir, `schema-${i}.json`);
      schemas.push(JSON.stringify(document));
      writeFileSync(file, schemas[schemas.length - 1]!);
      return `${address as ProviderAddress}=${file}`;
    });
    return new TerraformJudge(specs, schemas.join("\n"), workDir);
  }

  private started(): Promise<{ process: ChildProcess; env: NodeJS.ProcessEnv }> {
    return (this.stub ??= (async () => {
      const stub = spawn(process.execPath, [STUB, this.workDir, ...this.specs], { stdio: ["pipe", "pipe", "pipe"] });
      const reattach = await new Promise<string>((resolve, reject) => {
        let out = "";
        let err = "";
        stub.stdout!.on("data", (d) => {
          out += d;
          if (out.includes("\n")) resolve(out.trim());
        });
        stub.stderr!.on("data", (d) => (err += d));
        stub.on("exit", (code) => reject(new Error(`stub provider exited ${code}: ${err}`)));
      });
      const cliConfig = path.join(this.workDir, "terraformrc");
      writeFileSync(cliConfig, "");
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        TF_REATTACH_PROVIDERS: reattach,
        TF_CLI_CONFIG_FILE: cliConfig,
        TF_IN_AUTOMATION: "1",
        TF_INPUT: "0",
        CHECKPOINT_DISABLE: "1",
      };
      delete env.TF_LOG;
      delete env.TF_DATA_DIR;
      delete env.TF_PLUGIN_CACHE_DIR;
      return { process: stub, env };
    })());
  }

  /** Runs Terraform's steps in `dir`, stopping at the first that fails; remembered by the stack's bytes. */
  private async steps(dir: string, steps: readonly (readonly string[])[]): Promise<{ failedAt?: number; output: string }> {
    const run = { judge: `terraform ${steps.map((args) => args.join(" ")).join(" && ")}`, texts: { schemas: this.schemas, env: TERRAFORM_ENV }, inputs: [path.join(dir, "cdk.tf.json")] };
    const answer = await judged(run, async () => {
      const { env } = await this.started();
      let output = "";
      for (const [i, args] of steps.entries()) {
        const result = await runAsync([...args], dir, env);
        output += `$ terraform ${args.join(" ")}\n${result.output}\n`;
        if (result.status !== 0) return { status: i + 1, stdout: output, stderr: "" };
      }
      return { status: 0, stdout: output, stderr: "" };
    });
    return { failedAt: answer.status ? answer.status - 1 : undefined, output: answer.stdout };
  }

  /**
   * `init -backend=false` and `validate`; with `plan`, `init` and `plan -refresh=false` instead:
   * Terraform's local backend runs the same validation walk before it plans, so a planned stack
   * is not validated twice. A planned stack uses its own backend, so a local backend's relative
   * path must point into a throw-away directory (stackDir lays it out so).
   */
  async check(dir: string, options: { plan: boolean }): Promise<TerraformResult> {
    const steps: [TerraformResult["failed"] & string, string[]][] = options.plan
      ? [
          ["init", ["init", "-no-color", "-input=false"]],
          ["plan", ["plan", "-no-color", "-input=false", "-refresh=false", "-lock=false"]],
        ]
      : [
          ["init", ["init", "-no-color", "-input=false", "-backend=false"]],
          ["validate", ["validate", "-no-color"]],
        ];
    const { failedAt, output } = await this.steps(dir, steps.map(([, args]) => args));
    if (failedAt !== undefined) return { ok: false, failed: steps[failedAt]![0], output, warnings: warningsIn(output) };
    const warnings = warningsIn(output);
    return { ok: warnings.length === 0, failed: warnings.length ? steps[steps.length - 1]![0] : undefined, output, warnings };
  }

  /** A stack's plan as Terraform shows it (`terraform plan -out`, then `terraform show -json`): planned values, variables. */
  async showPlan(dir: string): Promise<any> {
    const plan = ["plan", "-no-color", "-input=false", "-refresh=false", "-lock=false", "-out=plan.bin"];
    const { failedAt, output } = await this.steps(dir, [["init", "-no-color", "-input=false"], plan, ["show", "-json", "plan.bin"]]);
    if (failedAt !== undefined) throw new Error(`terraform failed:\n${output}`);
    return JSON.parse(output.split("\n").find((line) => line.startsWith('{"format_version"'))!);
  }

  /** The planned values of a stack. */
  async plannedValues(dir: string): Promise<any> {
    return (await this.showPlan(dir)).planned_values;
  }

  /** Writes a stack's JSON into a fresh directory laid out like cdktf.out (for relative state paths). */
  stackDir(name: string, json: unknown): string {
    const dir = path.join(this.workDir, name, "cdktf.out", "stacks", "stack");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(json, null, 2));
    return dir;
  }

  async stop(): Promise<void> {
    if (this.stub) (await this.stub).process.kill("SIGTERM");
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

const warningsIn = (output: string) => [...output.matchAll(/^Warning: (.*)$/gm)].map((m) => m[1]!);

/** Every resource type of a stack's JSON. */
export function resourceTypes(stack: any): string[] {
  return Object.keys(stack.resource ?? {});
}
