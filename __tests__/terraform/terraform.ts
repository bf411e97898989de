/**
 * The real `terraform` (1.11) judging synthesized stacks offline: providers are served by the
 * schema-only stub (stub/stub-provider.mjs) through TF_REATTACH_PROVIDERS, so `terraform init`
 * installs nothing and `validate` and `plan` check every resource against the provider's schema:
 * bpg/proxmox's real schema (schemas/, kept equal to the reference schema by a test), and
 * hashicorp/local, hashicorp/kubernetes and hashicorp/helm rebuilt from their pinned bindings
 * (binding-schema.ts).
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
  // hashicorp/helm 3.1.1 (@cdktf/provider-helm 12.1.2): the Plugin Framework, nested attributes only.
  "registry.terraform.io/hashicorp/helm": { binding: "@cdktf/provider-helm", nestedAttributes: true },
} as const;
export type ProviderAddress = keyof typeof PROVIDERS;
export const LOCAL_ADDRESS: ProviderAddress = "registry.terraform.io/hashicorp/local";

/**
 * Writes each provider's schema document into `workDir`, as the judges serve them: bpg/proxmox's
 * pinned schema, the others rebuilt from their bindings with the resources of `resourceTypes`.
 * Providers in `computedOnly` get their resources' computed-only attributes too (a provider that
 * applies stores them in state). Returns the stub's `<address>=<file>` arguments and the texts.
 */
export function writeProviderSchemas(
  workDir: string,
  resourceTypes: readonly string[],
  options: { providers?: readonly ProviderAddress[]; computedOnly?: readonly ProviderAddress[] } = {},
): { specs: string[]; documents: string[] } {
  const documents: string[] = [];
  const specs = Object.entries(PROVIDERS).flatMap(([address, source], i) => {
    if (options.providers && !options.providers.includes(address as ProviderAddress)) return [];
    const prefix = address.split("/").pop()!;
    const types = resourceTypes.filter((t) => t.startsWith(`${prefix}_`));
    const computedOnly = options.computedOnly?.includes(address as ProviderAddress);
    const nestedAttributes = "nestedAttributes" in source && source.nestedAttributes;
    const document = "schema" in source ? source.schema() : bindingSchema(source.binding, address, types, { ...(computedOnly ? { computedOnly } : {}), ...(nestedAttributes ? { nestedAttributes } : {}) });
    const file = path.join(workDir, `schema-${i}.json`);
    documents.push(JSON.stringify(document));
    writeFileSync(file, documents[documents.length - 1]!);
    return [`${address}=${file}`];
  });
  return { specs, documents };
}

/** A started stub provider: its process and the environment that points Terraform at it. */
export interface StartedStub {
  readonly process: ChildProcess;
  /** process.env with TF_REATTACH_PROVIDERS, an empty CLI configuration and automation settings. */
  readonly env: NodeJS.ProcessEnv;
}

/** Stops a started stub and waits until it has exited (so no test process outlives its stub). */
export function stopStub(stub: StartedStub): Promise<void> {
  const { process: child } = stub;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/**
 * Starts stub/stub-provider.mjs with the given `<address>=<schema.json>` specs (sockets and the
 * empty CLI configuration in `workDir`). `apply` names providers that apply for real; they
 * resolve relative paths against `cwd`, which must be the directory Terraform runs in.
 */
export async function startStub(workDir: string, specs: readonly string[], options: { apply?: readonly ProviderAddress[]; cwd?: string } = {}): Promise<StartedStub> {
  const args = [STUB, workDir, ...(options.apply ?? []).map((a) => `--apply=${a}`), ...(options.cwd ? [`--cwd=${options.cwd}`] : []), ...specs];
  const stub = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
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
  const cliConfig = path.join(workDir, "terraformrc");
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
}

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
  private stub?: Promise<StartedStub>;

  private constructor(
    private readonly specs: string[],
    /** What the providers' schemas are, for the judges' cache. */
    private readonly schemas: string,
    readonly workDir: string,
  ) {}

  /** Writes the providers' schemas; `resourceTypes` lists what the stacks use. */
  static async start(resourceTypes: Iterable<string>): Promise<TerraformJudge> {
    const workDir = mkdtempSync(path.join(tmpdir(), "pvdn-terraform-"));
    const { specs, documents } = writeProviderSchemas(workDir, [...new Set(resourceTypes)]);
    return new TerraformJudge(specs, [readFileSync(STUB, "utf8"), ...documents].join("\n"), workDir);
  }

  private started(): Promise<StartedStub> {
    return (this.stub ??= startStub(this.workDir, this.specs));
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
    if (this.stub) await stopStub(await this.stub);
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

const warningsIn = (output: string) => [...output.matchAll(/^Warning: (.*)$/gm)].map((m) => m[1]!);

/** Every resource type of a stack's JSON. */
export function resourceTypes(stack: any): string[] {
  return Object.keys(stack.resource ?? {});
}
