/**
 * hashicorp/local (v2.6.1, the version pve-dualnet pins) applying for real, offline: the stub
 * provider (stub/stub-provider.mjs) serving local's schema as the judges rebuild it from the
 * binding (plus the computed attributes state holds) and, through stub/local-provider.mjs,
 * writing, reading and removing `local_file` and `local_sensitive_file` as the real provider
 * does. With it, `terraform apply` and `cdktf deploy` run end to end on a stack whose only
 * provider is local (host-network: its rendered files, and Terraform's builtin terraform_data).
 *
 *   const local = await startLocalProvider({ workingDirectory: `${project}/cdktf.out/stacks/host-network` });
 *   try {
 *     const { status, output } = await local.cdktf(["deploy", "host-network", "--auto-approve", "--skip-provider-lock"], project);
 *     // or: await local.terraform(["init"], dir); await local.terraform(["apply", "-auto-approve"], dir);
 *     // or: spawn("terraform", [...], { cwd: dir, env: local.env }) with any tool
 *   } finally {
 *     await local.stop();
 *   }
 *
 * `workingDirectory` is the directory Terraform runs in (cdktf runs it in
 * cdktf.out/stacks/<stack>): relative filenames ("../../../generated/...") resolve against it,
 * as they would in a real provider, which inherits Terraform's working directory. It need not
 * exist yet (cdktf's synth writes it).
 *
 * `--skip-provider-lock` is needed offline: after `terraform init`, cdktf runs
 * `terraform providers lock -platform=linux_amd64` whenever the stack has no
 * .terraform.lock.hcl matching its providers, and that asks registry.terraform.io.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { LOCAL_ADDRESS, startStub, stopStub, writeProviderSchemas, type ProviderAddress } from "./terraform";

/** The cdktf CLI as the project runs it (`node node_modules/cdktf-cli/bundle/bin/cdktf`). */
export const CDKTF_CLI = path.join(__dirname, "..", "..", "node_modules", "cdktf-cli", "bundle", "bin", "cdktf");

export interface LocalProviderOptions {
  /** The directory Terraform runs in; relative paths of local_file resolve against it. */
  readonly workingDirectory: string;
  /** Providers served besides, schema-only as the judges serve them (default none). */
  readonly schemaOnly?: readonly ProviderAddress[];
  /** Resource types of the schema-only providers rebuilt from bindings (hashicorp/kubernetes). */
  readonly resourceTypes?: readonly string[];
}

export interface CommandResult {
  readonly status: number | null;
  /** stdout and stderr, interleaved as they came. */
  readonly output: string;
}

export interface LocalProvider {
  /**
   * The environment for `terraform` and the cdktf CLI: process.env with TF_REATTACH_PROVIDERS,
   * TF_CLI_CONFIG_FILE (an empty file), TF_IN_AUTOMATION, TF_INPUT=0, CHECKPOINT_DISABLE=1
   * (Terraform's and cdktf's telemetry), DISABLE_VERSION_CHECK=1 (cdktf's `npm view` checks),
   * CDKTF_DISABLE_PLUGIN_CACHE_ENV=1 (else cdktf sets TF_PLUGIN_CACHE_DIR and creates
   * ~/.terraform.d/plugin-cache) and CDKTF_HOME in the stand-in's own directory.
   */
  readonly env: NodeJS.ProcessEnv;
  /** TF_REATTACH_PROVIDERS alone. */
  readonly reattach: string;
  /** Runs `terraform <args>` in `cwd` with `env`. */
  terraform(args: readonly string[], cwd: string): Promise<CommandResult>;
  /** Runs the cdktf CLI (`cdktf <args>`) in the project directory `cwd` with `env`. */
  cdktf(args: readonly string[], cwd: string): Promise<CommandResult>;
  /** Stops the stand-in and removes its directory (sockets, schemas); the files it wrote stay. */
  stop(): Promise<void>;
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}

/** Starts the stand-in; see the module's comment. */
export async function startLocalProvider(options: LocalProviderOptions): Promise<LocalProvider> {
  const workDir = mkdtempSync(path.join(tmpdir(), "pvdn-local-provider-"));
  try {
    const providers = [LOCAL_ADDRESS, ...(options.schemaOnly ?? [])];
    const types = ["local_file", "local_sensitive_file", ...(options.resourceTypes ?? [])];
    const { specs } = writeProviderSchemas(workDir, types, { providers, computedOnly: [LOCAL_ADDRESS] });
    const stub = await startStub(workDir, specs, { apply: [LOCAL_ADDRESS], cwd: path.resolve(options.workingDirectory) });
    const env: NodeJS.ProcessEnv = {
      ...stub.env,
      DISABLE_VERSION_CHECK: "1",
      CDKTF_DISABLE_PLUGIN_CACHE_ENV: "1",
      CDKTF_HOME: path.join(workDir, "cdktf-home"),
    };
    return {
      env,
      reattach: env.TF_REATTACH_PROVIDERS!,
      terraform: (args, cwd) => run("terraform", args, cwd, env),
      cdktf: (args, cwd) => run(process.execPath, [CDKTF_CLI, ...args], cwd, env),
      async stop() {
        await stopStub(stub);
        rmSync(workDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
}
